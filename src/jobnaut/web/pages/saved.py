"""The saved-jobs board: one column per application status.

Every change is a plain form POST answered with a redirect back to the board, so it all
works without JavaScript; board.js sends the same forms with fetch (asking for JSON) and
moves the card in place.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from jobnaut.web.deps import meta, user_api
from jobnaut.web.errors import error_page, wants_json
from jobnaut.web.forms import checked_id
from jobnaut.web.models import SavedJob
from jobnaut.web.rendering import render

router = APIRouter(tags=["saved"])

MAX_NOTES = 5000


def columns(saved: list[SavedJob], statuses: list[str]) -> list[tuple[str, list[SavedJob]]]:
    """Cards grouped by status, in pipeline order, most recently changed first."""
    by_status: dict[str, list[SavedJob]] = {status: [] for status in statuses}
    for item in sorted(saved, key=lambda s: s.updated_at, reverse=True):
        by_status.setdefault(item.status, []).append(item)
    return list(by_status.items())


def _done(request: Request, notice: str, saved: SavedJob | None = None) -> Response:
    if wants_json(request):
        body = saved.model_dump(mode="json") if saved else {"ok": True}
        return JSONResponse(body)
    anchor = f"#card-{saved.id}" if saved else ""
    return RedirectResponse(f"/saved?notice={notice}{anchor}", status_code=303)


@router.get("/saved")
async def board(request: Request) -> Response:
    me = user_api(request)
    saved = await me.saved_jobs()
    statuses = (await meta(request)).statuses
    return render(
        request,
        "saved/board.html",
        {"columns": columns(saved, statuses), "statuses": statuses, "count": len(saved)},
    )


@router.post("/saved/{saved_id}/status")
async def move(request: Request, saved_id: str, status: str = Form("")) -> Response:
    saved_id = checked_id(saved_id)
    me = user_api(request, next_path="/saved")
    if status not in (await meta(request)).statuses:
        return error_page(request, 422, "Choose one of the listed statuses.")
    saved = await me.update_saved(saved_id, status=status)
    return _done(request, "moved", saved)


@router.post("/saved/{saved_id}/notes")
async def notes(request: Request, saved_id: str, notes: str = Form("")) -> Response:
    saved_id = checked_id(saved_id)
    me = user_api(request, next_path="/saved")
    if len(notes) > MAX_NOTES:
        return error_page(request, 422, f"Notes can be at most {MAX_NOTES} characters long.")
    saved = await me.update_saved(saved_id, notes=notes.strip())
    return _done(request, "notes_saved", saved)


@router.post("/saved/{saved_id}/delete")
async def unsave(request: Request, saved_id: str) -> Response:
    saved_id = checked_id(saved_id)
    me = user_api(request, next_path="/saved")
    await me.unsave(saved_id)
    return _done(request, "unsaved")
