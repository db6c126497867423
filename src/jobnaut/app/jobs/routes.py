from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import ValidationError
from pydantic_core import to_json

from jobnaut.app.accounts.schemas import ExperienceLevel
from jobnaut.app.deps import SessionDep
from jobnaut.app.errors import ApiError, not_found
from jobnaut.app.jobs import search
from jobnaut.app.jobs.models import Job
from jobnaut.app.jobs.schemas import (
    MAX_PAGE,
    MAX_PER_PAGE,
    JobDetail,
    JobPage,
    JobQuery,
    SortOrder,
    job_detail,
)
from jobnaut.app.responses import errors
from jobnaut.app.types import MAX_SALARY, IdPath, IsoDate

router = APIRouter(prefix="/api", tags=["jobs"], responses=errors(422))


@router.get("/jobs", response_model=JobPage)
def search_jobs(
    db: SessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    location: Annotated[str | None, Query(max_length=200)] = None,
    remote: bool | None = None,
    salary_min: Annotated[int | None, Query(ge=0, le=MAX_SALARY)] = None,
    salary_max: Annotated[int | None, Query(ge=0, le=MAX_SALARY)] = None,
    currency: Annotated[str | None, Query(
        pattern="^[A-Za-z]{3}$", description="ISO 4217 code: only jobs paying in it, so "
        "that salary bounds and the salary sort compare like with like")] = None,
    experience_level: ExperienceLevel | None = None,
    skills: Annotated[str | None, Query(max_length=2000,
                                        description="comma-separated; all must match")] = None,
    posted_since: Annotated[IsoDate | None, Query(description="YYYY-MM-DD")] = None,
    sort: SortOrder = "relevance",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> Response:
    try:
        query = JobQuery(
            q=q, location=location, remote=remote, salary_min=salary_min, salary_max=salary_max,
            currency=currency.upper() if currency else None,
            experience_level=experience_level,
            skills=[s for s in (skills or "").split(",") if s.strip()],
            posted_since=posted_since, sort=sort, page=page, per_page=per_page,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'query'}: {e['msg']}" for e in exc.errors()
        )
        raise ApiError(422, "validation_error", f"invalid search: {problems}") from None
    found = search.search_jobs(db=db, query=query)
    # The rows are already JobSummary's fields with their types (search._summaries): they
    # are serialized as they are, without building and validating a model per job.
    return Response(to_json({
        "total": found.total, "total_capped": found.total_capped,
        "page": query.page, "per_page": query.per_page, "items": found.items,
    }), media_type="application/json")


@router.get("/jobs/{job_id}", response_model=JobDetail, responses=errors(404))
def get_job(job_id: IdPath, db: SessionDep) -> JobDetail:
    job = db.get(Job, job_id)
    if job is None:
        raise not_found("job")
    return job_detail(job)
