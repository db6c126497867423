from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from jobnaut.app.jobs.schemas import JobSummary
from jobnaut.app.saved.models import ApplicationStatus


class SaveJobIn(BaseModel):
    job_id: int = Field(ge=1)
    notes: str | None = Field(default=None, max_length=5000)


class SavedJobUpdate(BaseModel):
    status: ApplicationStatus | None = None
    notes: str | None = Field(default=None, max_length=5000)


class StatusChangeOut(BaseModel):
    from_status: str | None
    to_status: str
    changed_at: datetime


class SavedJobOut(BaseModel):
    id: int
    job: JobSummary
    status: ApplicationStatus
    notes: str | None
    created_at: datetime
    updated_at: datetime
    events: list[StatusChangeOut]


class SavedJobList(BaseModel):
    items: list[SavedJobOut]
