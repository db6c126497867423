"""Job search, job detail (with the skill match), and saving a job."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from jobnaut.web.api_client import BackendError, BackendUnavailable
from jobnaut.web.deps import api, known_meta, meta, user_api
from jobnaut.web.errors import degraded_page, wants_json
from jobnaut.web.forms import CURRENCIES, PER_PAGE, SearchForm, checked_id, search_href
from jobnaut.web.models import JobPage, Match, SavedJob
from jobnaut.web.rendering import render
from jobnaut.web.session import safe_next, token_of, with_notice

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
    # search need not wait for /api/meta: the calls go out at once.
    levels = known_meta(request).experience_levels
    form = SearchForm.from_query(dict(request.query_params), levels)
    empty = JobPage(total=0, page=1, per_page=PER_PAGE, items=[])
    context: dict[str, object] = {
        "form": form, "results": empty, "refused": None, "levels": levels, "page_numbers": [],
        "matches": {}, "saved_ids": set(), "back": form.query_string(),
        "currencies": CURRENCIES, "mixed_currencies": []}
    signed_in = token_of(request) is not None
    found, info, mine = await asyncio.gather(
        api(request).search_jobs(form.api_params()), meta(request),
        _saved_job_ids(request) if signed_in else _nothing(), return_exceptions=True,
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
                   mixed_currencies=_mixed_currencies(form, found),
                   page_numbers=page_numbers(found.page, found.pages),
                   saved_ids=mine if isinstance(mine, set) else set())
    if signed_in and found.items:
        context["matches"] = await _matches(request, [str(job.id) for job in found.items])
    return render(request, "jobs/search.html", context)


def _mixed_currencies(form: SearchForm, found: JobPage) -> list[str]:
    """The currencies of a page whose salaries are filtered or sorted as plain numbers
    (no currency chosen): the page says so. Empty when that is not the case."""
    if form.currency or not form.compares_salaries():
        return []
    currencies = sorted({job.currency for job in found.items if job.currency})
    return currencies if len(currencies) > 1 else []


async def _nothing() -> set[str]:
    return set()


async def _saved_job_ids(request: Request) -> set[str]:
    """The jobs already on the user's board (cards say so instead of offering to save);
    none when the board cannot be read: the results matter more than this detail."""
    try:
        return {str(saved.job.id) for saved in await user_api(request).saved_jobs()}
    except BackendError:
        return set()


async def _matches(request: Request, job_ids: list[str]) -> dict[str, Match]:
    """Each result's match with the user's profile; none for an empty profile (a score
    would say nothing) or when the backend cannot say in what is left of the budget."""
    try:
        found = await user_api(request).matches(job_ids)
    except BackendError:
        return {}
    if found.profile_empty:
        return {}
    return {str(m.job_id): m for m in found.items}


@router.get("/jobs/{job_id}")
async def detail(request: Request, job_id: str, back: str = "", partial: str = "") -> Response:
    """A job, its match and whether it is saved. `partial` gives only the job's article:
    on a wide screen the results page shows it beside the list (static/listdetail.js)."""
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
    back_href = search_href(back, known_meta(request).experience_levels)
    # This page without its notice: where saving it comes back to.
    here = f"/jobs/{job_id}" + (f"?back={quote(back_href[6:])}" if "?" in back_href else "")
    context = {"job": job, "match": match, "saved": saved, "back_href": back_href,
               "here": here, "partial": bool(partial)}
    if partial:  # saving from the pane comes back to the results page
        return render(request, "jobs/_job_detail.html", {**context, "here": back_href})
    return render(request, "jobs/detail.html", context)


@router.post("/jobs/{job_id}/save")
async def save(request: Request, job_id: str, next: str = Form("")) -> Response:
    """Saves a job. From a results page (`next`, the page to come back to) the visitor
    returns to the same search at the same card; with JavaScript the card's form is sent
    with fetch and answered with JSON, so the page does not reload at all."""
    job_id = checked_id(job_id)
    back_to = safe_next(next, f"/jobs/{job_id}")
    me = user_api(request, next_path=back_to)
    try:
        saved = await me.save_job(job_id)
    except BackendError as exc:
        if exc.status != 409:
            raise
        if wants_json(request):
            return JSONResponse({"error": {"message": exc.message}}, status_code=409)
        return RedirectResponse(_at_card(back_to, "already_saved", job_id), status_code=303)
    if wants_json(request):
        return JSONResponse(saved.model_dump(mode="json"), status_code=201)
    return RedirectResponse(_at_card(back_to, "job_saved", job_id), status_code=303)


def _at_card(path: str, notice: str, job_id: str) -> str:
    """The page with its notice, scrolled to the job's card on a results page."""
    anchor = f"#job-{job_id}" if path.startswith("/jobs?") or path == "/jobs" else ""
    return with_notice(path, notice) + anchor
