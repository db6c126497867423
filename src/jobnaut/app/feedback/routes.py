from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from jobnaut.app.deps import CipherDep, SessionDep, StateDep
from jobnaut.app.errors import not_found
from jobnaut.app.feedback import service
from jobnaut.app.responses import errors
from jobnaut.app.system.routes import may_read_metrics
from jobnaut.app.types import Text

router = APIRouter(tags=["feedback"])


class ReportIn(BaseModel):
    page: Text = Field(max_length=300)
    message: Text = Field(min_length=3, max_length=2000)


class ReportOut(BaseModel):
    id: int
    release: str


class ReportCounts(BaseModel):
    release: str  # the release answering now
    by_release: dict[str, int]


@router.post("/api/reports", status_code=201, response_model=ReportOut,
             responses=errors(422))
def report(body: ReportIn, db: SessionDep, cipher: CipherDep, state: StateDep) -> ReportOut:
    """A user's "report a problem", recorded against the release this backend runs."""
    release = state.settings.release
    new_id = service.record(db=db, cipher=cipher, release=release, page=body.page,
                            message=body.message)
    return ReportOut(id=new_id, release=release)


@router.get("/reports/counts", response_model=ReportCounts, responses=errors(404))
def counts(request: Request, db: SessionDep, state: StateDep) -> ReportCounts:
    """Reports per release, for the control plane; guarded like /metrics."""
    if not may_read_metrics(request, state.settings.metrics_token):
        raise not_found("page")
    return ReportCounts(release=state.settings.release,
                        by_release=service.counts_by_release(db=db))
