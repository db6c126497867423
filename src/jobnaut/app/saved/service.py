"""Saved jobs and the application pipeline: saved → applied → interviewing → outcome."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobnaut.app.accounts.models import User
from jobnaut.app.crypto import FieldCipher, place
from jobnaut.app.errors import ApiError, not_found
from jobnaut.app.jobs.models import Job
from jobnaut.app.jobs.schemas import job_summary
from jobnaut.app.saved.models import ApplicationStatus, SavedJob, StatusChange
from jobnaut.app.saved.schemas import SavedJobOut, SavedJobUpdate, StatusChangeOut

NOTES = "saved_jobs.notes_enc"


def to_out(saved: SavedJob, job: Job, cipher: FieldCipher) -> SavedJobOut:
    return SavedJobOut(
        id=saved.id,
        job=job_summary(job),
        status=ApplicationStatus(saved.status),
        notes=cipher.decrypt(saved.notes_enc, at=place(NOTES, saved.id)),
        created_at=saved.created_at,
        updated_at=saved.updated_at,
        events=[
            StatusChangeOut(from_status=e.from_status, to_status=e.to_status,
                            changed_at=e.changed_at)
            for e in saved.events
        ],
    )


def list_saved(*, db: Session, cipher: FieldCipher, user: User) -> list[SavedJobOut]:
    rows = db.execute(
        select(SavedJob, Job)
        .join(Job, Job.id == SavedJob.job_id)
        .where(SavedJob.user_id == user.id, SavedJob.removed_at.is_(None))
        .order_by(SavedJob.updated_at.desc(), SavedJob.id.desc())
    ).all()
    return [to_out(saved, job, cipher) for saved, job in rows]


def save_job(
    *, db: Session, cipher: FieldCipher, user: User, job_id: int, notes: str | None
) -> SavedJobOut:
    job = db.get(Job, job_id)
    if job is None:
        raise not_found("job")
    existing = db.scalar(
        select(SavedJob).where(SavedJob.user_id == user.id, SavedJob.job_id == job_id)
    )
    if existing is not None and existing.removed_at is None:
        raise ApiError(409, "already_saved", "this job is already saved")
    if existing is not None:  # saved again after a removal: back with its notes and history
        existing.removed_at = None
        db.flush()
        db.refresh(existing)
        return to_out(existing, job, cipher)
    saved = SavedJob(user_id=user.id, job_id=job_id, status=ApplicationStatus.saved.value)
    saved.events.append(StatusChange(from_status=None, to_status=ApplicationStatus.saved.value))
    db.add(saved)
    db.flush()  # the notes are bound to the row's id, known from here on
    saved.notes_enc = cipher.encrypt(notes, at=place(NOTES, saved.id))
    db.flush()
    db.refresh(saved)
    return to_out(saved, job, cipher)


def _owned(db: Session, user: User, saved_id: int, *, removed: bool = False) -> SavedJob:
    """The user's saved job: one on the board, or with `removed`, one taken off it."""
    saved = db.get(SavedJob, saved_id)
    # Another user's saved job is reported as missing, so ids reveal nothing.
    if saved is None or saved.user_id != user.id or (saved.removed_at is not None) != removed:
        raise not_found("saved job")
    return saved


def get_saved(*, db: Session, cipher: FieldCipher, user: User, saved_id: int) -> SavedJobOut:
    saved = _owned(db, user, saved_id)
    return to_out(saved, db.get_one(Job, saved.job_id), cipher)


def update_saved(
    *, db: Session, cipher: FieldCipher, user: User, saved_id: int, change: SavedJobUpdate
) -> SavedJobOut:
    saved = _owned(db, user, saved_id)
    if change.status is not None and change.status.value != saved.status:
        saved.events.append(StatusChange(from_status=saved.status, to_status=change.status.value))
        saved.status = change.status.value
    if "notes" in change.model_fields_set:
        saved.notes_enc = cipher.encrypt(change.notes, at=place(NOTES, saved.id))
    db.flush()
    db.refresh(saved)
    return to_out(saved, db.get_one(Job, saved.job_id), cipher)


def unsave(*, db: Session, user: User, saved_id: int) -> None:
    """Takes the job off the board; `restore` puts it back as it was."""
    _owned(db, user, saved_id).removed_at = func.now()


def purge(*, db: Session, user: User, saved_id: int) -> None:
    """Deletes the saved job for good, whether on the board or taken off it. The release
    checks use it so that their own account leaves no rows behind: a restore report then
    names only what users wrote."""
    saved = db.get(SavedJob, saved_id)
    if saved is None or saved.user_id != user.id:
        raise not_found("saved job")
    db.delete(saved)
    db.flush()


def restore(*, db: Session, cipher: FieldCipher, user: User, saved_id: int) -> SavedJobOut:
    saved = _owned(db, user, saved_id, removed=True)
    saved.removed_at = None
    db.flush()
    db.refresh(saved)
    return to_out(saved, db.get_one(Job, saved.job_id), cipher)
