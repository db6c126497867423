"""Job search, job detail (with the skill match), and saving a job."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from jobnaut.web.api_client import BackendError, BackendUnavailable
from jobnaut.web.deps import api, known_meta, meta, user_api
from jobnaut.web.errors import degraded_page, wants_json
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
    # The levels the form checks against are the known ones (or the contract's), so the
    # search need not wait for /api/meta: both calls go out at once.
    levels = known_meta(request).experience_levels
    form = SearchForm.from_query(dict(request.query_params), levels)
    empty = JobPage(total=0, page=1, per_page=PER_PAGE, items=[])
    context = {"form": form, "results": empty, "refused": None, "levels": levels,
               "page_numbers": []}
    found, info = await asyncio.gather(
        api(request).search_jobs(form.api_params()), meta(request), return_exceptions=True
    )
    if isinstance(info, BaseException):  # meta() never raises a BackendError
        raise info
    if isinstance(found, BackendUnavailable):
        return degraded_page(request, "jobs/search.html", context, found)
    if isinstance(found, BackendError) and found.status == 422:
        # The backend found the search itself invalid: show the form again with why.
        return render(request, "jobs/search.html", {**context, "refused": found.message},
                      status_code=422)
    if isinstance(found, BaseException):
        raise found
    context.update(results=found, levels=info.experience_levels,
                   page_numbers=page_numbers(found.page, found.pages))
    return render(request, "jobs/search.html", context)


@router.get("/jobs/{job_id}")
async def detail(request: Request, job_id: str) -> Response:
    job_id = checked_id(job_id)
    match: Match | None = None
    saved: SavedJob | None = None
    if token_of(request):
        me = user_api(request)
        job, match, saved_jobs = await asyncio.gather(
            me.job(job_id), me.match(job_id), me.saved_jobs()
        )
        saved = next((s for s in saved_jobs if str(s.job.id) == str(job.id)), None)
    else:
        job = await api(request).job(job_id)
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
