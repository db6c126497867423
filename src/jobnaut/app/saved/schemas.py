from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from jobnaut.app.jobs.schemas import JobSummary
from jobnaut.app.saved.models import ApplicationStatus
from jobnaut.app.types import IdValue, Text


class SaveJobIn(BaseModel):
    job_id: IdValue
    notes: Text | None = Field(default=None, max_length=5000)


class SavedJobUpdate(BaseModel):
    status: ApplicationStatus | None = None
    notes: Text | None = Field(default=None, max_length=5000)


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class StatusChangeOut(BaseModel):
    from_status: str | None
    to_status: str
    changed_at: UtcDatetime


class SavedJobOut(BaseModel):
    id: int
    job: JobSummary
    status: ApplicationStatus
    notes: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    events: list[StatusChangeOut]


class SavedJobList(BaseModel):
    items: list[SavedJobOut]
