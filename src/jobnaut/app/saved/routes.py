from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from jobnaut.app.deps import CipherDep, CurrentUser, SessionDep
from jobnaut.app.responses import errors
from jobnaut.app.saved import service
from jobnaut.app.saved.schemas import SavedJobList, SavedJobOut, SavedJobUpdate, SaveJobIn
from jobnaut.app.types import IdPath

# 409 on every route: a new Clerk user whose email a password account already uses.
router = APIRouter(prefix="/api/saved", tags=["saved"],
                   responses=errors(401, 404, 409, 422))


@router.get("", response_model=SavedJobList)
def list_saved(user: CurrentUser, db: SessionDep, cipher: CipherDep) -> SavedJobList:
    return SavedJobList(items=service.list_saved(db=db, cipher=cipher, user=user))


@router.post("", status_code=201, response_model=SavedJobOut)
def save(body: SaveJobIn, user: CurrentUser, db: SessionDep, cipher: CipherDep) -> SavedJobOut:
    return service.save_job(db=db, cipher=cipher, user=user, job_id=body.job_id, notes=body.notes)


@router.get("/{saved_id}", response_model=SavedJobOut)
def get_saved(
    saved_id: IdPath, user: CurrentUser, db: SessionDep, cipher: CipherDep
) -> SavedJobOut:
    return service.get_saved(db=db, cipher=cipher, user=user, saved_id=saved_id)


@router.patch("/{saved_id}", response_model=SavedJobOut)
def update(
    saved_id: IdPath, body: SavedJobUpdate, user: CurrentUser, db: SessionDep, cipher: CipherDep
) -> SavedJobOut:
    return service.update_saved(db=db, cipher=cipher, user=user, saved_id=saved_id, change=body)


@router.delete("/{saved_id}", status_code=204)
def unsave(
    saved_id: IdPath, user: CurrentUser, db: SessionDep,
    permanently: Annotated[bool, Query(description=(
        "Delete the saved job (on the board or already removed) with its notes and "
        "history, with no undo; the environment's backups keep it for their retention."
    ))] = False,
) -> Response:
    """Takes the job off the board, keeping it (notes, history) for `restore`."""
    if permanently:
        service.purge(db=db, user=user, saved_id=saved_id)
    else:
        service.unsave(db=db, user=user, saved_id=saved_id)
    return Response(status_code=204)


@router.post("/{saved_id}/restore", response_model=SavedJobOut)
def restore(
    saved_id: IdPath, user: CurrentUser, db: SessionDep, cipher: CipherDep
) -> SavedJobOut:
    """Undo for a removal: the job back on the board as it was."""
    return service.restore(db=db, cipher=cipher, user=user, saved_id=saved_id)
