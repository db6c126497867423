from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import ValidationError

from jobnaut.app.accounts.schemas import ExperienceLevel
from jobnaut.app.deps import SessionDep
from jobnaut.app.errors import ApiError, not_found
from jobnaut.app.jobs import search
from jobnaut.app.jobs.models import Job
from jobnaut.app.jobs.schemas import (
    JobDetail,
    JobPage,
    JobQuery,
    SortOrder,
    job_detail,
    job_summary,
)

router = APIRouter(prefix="/api", tags=["jobs"])


@router.get("/jobs", response_model=JobPage)
def search_jobs(
    db: SessionDep,
    q: str | None = None,
    location: str | None = None,
    remote: bool | None = None,
    salary_min: int | None = None,
    salary_max: int | None = None,
    experience_level: ExperienceLevel | None = None,
    skills: Annotated[str | None, Query(description="comma-separated; all must match")] = None,
    posted_since: date | None = None,
    sort: SortOrder = "relevance",
    page: int = 1,
    per_page: int = 20,
) -> JobPage:
    try:
        query = JobQuery(
            q=q, location=location, remote=remote, salary_min=salary_min, salary_max=salary_max,
            experience_level=experience_level,
            skills=[s for s in (skills or "").split(",") if s.strip()],
            posted_since=posted_since, sort=sort, page=page, per_page=per_page,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'query'}: {e['msg']}" for e in exc.errors()
        )
        raise ApiError(422, "validation_error", f"invalid search: {problems}") from None
    total, jobs = search.search_jobs(db=db, query=query)
    return JobPage(
        total=total, page=query.page, per_page=query.per_page,
        items=[job_summary(j) for j in jobs],
    )


@router.get("/jobs/{job_id}", response_model=JobDetail)
def get_job(job_id: int, db: SessionDep) -> JobDetail:
    job = db.get(Job, job_id)
    if job is None:
        raise not_found("job")
    return job_detail(job)
