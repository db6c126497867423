"""Job search, job detail (with the skill match), and saving a job."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from jobnaut.web.api_client import BackendError
from jobnaut.web.deps import api, meta, user_api
from jobnaut.web.errors import wants_json
from jobnaut.web.forms import PER_PAGE, SearchForm, checked_id
from jobnaut.web.models import JobPage, Match, SavedJob
from jobnaut.web.rendering import render
from jobnaut.web.session import token_of

router = APIRouter(tags=["jobs"])


def page_numbers(current: int, last: int, around: int = 2) -> list[int | None]:
    """Page links to show: first, last, and a window around the current (None = gap)."""
    wanted = {1, last, *range(current - around, current + around + 1)}
    shown = sorted(n for n in wanted if 1 <= n <= last)
    numbers: list[int | None] = []
    for n in shown:
        if numbers and n - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(n)
    return numbers


@router.get("/jobs")
async def search(request: Request) -> Response:
    info = await meta(request)
    form = SearchForm.from_query(dict(request.query_params), info.experience_levels)
    refused: str | None = None
    try:
        results = await api(request).search_jobs(form.api_params())
    except BackendError as exc:
        if exc.status != 422:
            raise
        # The backend found the search itself invalid: show the form again with why.
        refused = exc.message
        results = JobPage(total=0, page=1, per_page=PER_PAGE, items=[])
    return render(
        request,
        "jobs/search.html",
        {
            "form": form,
            "results": results,
            "refused": refused,
            "levels": info.experience_levels,
            "page_numbers": page_numbers(results.page, results.pages),
        },
        status_code=422 if refused else 200,
    )


@router.get("/jobs/{job_id}")
async def detail(request: Request, job_id: str) -> Response:
    job_id = checked_id(job_id)
    job = await api(request).job(job_id)
    match: Match | None = None
    saved: SavedJob | None = None
    if token_of(request):
        me = user_api(request)
        match, saved_jobs = await asyncio.gather(me.match(job_id), me.saved_jobs())
        saved = next((s for s in saved_jobs if str(s.job.id) == str(job.id)), None)
    return render(request, "jobs/detail.html", {"job": job, "match": match, "saved": saved})


@router.post("/jobs/{job_id}/save")
async def save(request: Request, job_id: str) -> Response:
    job_id = checked_id(job_id)
    me = user_api(request, next_path=f"/jobs/{job_id}")
    try:
        saved = await me.save_job(job_id)
    except BackendError as exc:
        if exc.status != 409:
            raise
        if wants_json(request):
            return JSONResponse({"error": {"message": exc.message}}, status_code=409)
        return RedirectResponse(f"/jobs/{job_id}?notice=already_saved", status_code=303)
    if wants_json(request):
        return JSONResponse(saved.model_dump(mode="json"), status_code=201)
    return RedirectResponse(f"/jobs/{job_id}?notice=job_saved", status_code=303)
