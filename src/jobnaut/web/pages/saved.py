"""The saved-jobs board: one column per application status, in one horizontal pipeline
(on a phone, one column at a time behind tabs).

Every change is a plain form POST answered with a redirect back to the board, so it all
works without JavaScript; board.js sends the same forms with fetch (asking for JSON) and
moves the card in place.
"""

from __future__ import annotations

import asyncio

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


def _done(
    request: Request, notice: str, saved: SavedJob | None = None, query: str = ""
) -> Response:
    if wants_json(request):
        body = saved.model_dump(mode="json") if saved else {"ok": True}
        return JSONResponse(body)
    if saved:  # the phone shows the column the card is now in
        query += f"&column={saved.status}"
    anchor = f"#card-{saved.id}" if saved else ""
    return RedirectResponse(f"/saved?notice={notice}{query}{anchor}", status_code=303)


def active_column(wanted: str, grouped: list[tuple[str, list[SavedJob]]]) -> str:
    """The column a phone shows: the one asked for, else the first with cards in it."""
    names = [status for status, _ in grouped]
    if wanted in names:
        return wanted
    return next((status for status, cards in grouped if cards), names[0] if names else "")


@router.get("/saved")
async def board(request: Request, column: str = "", removed: str = "") -> Response:
    me = user_api(request)
    saved, info = await asyncio.gather(me.saved_jobs(), meta(request))
    grouped = columns(saved, info.statuses)
    return render(
        request,
        "saved/board.html",
        {"columns": grouped, "statuses": info.statuses, "count": len(saved),
         "active": active_column(column, grouped),
         # Only an id goes back into the page: the undo form for the card just removed.
         "removed_id": removed if removed.isdigit() else None},
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
    await me.unsave(saved_id)  # the backend keeps the card: undo restores it
    return _done(request, "unsaved", query=f"&removed={saved_id}")


@router.post("/saved/{saved_id}/restore")
async def restore(request: Request, saved_id: str) -> Response:
    saved_id = checked_id(saved_id)
    me = user_api(request, next_path="/saved")
    saved = await me.restore_saved(saved_id)
    return _done(request, "restored", saved)
