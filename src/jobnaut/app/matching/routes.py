from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from jobnaut.app.accounts.service import user_skills
from jobnaut.app.deps import CurrentUser, SessionDep
from jobnaut.app.errors import not_found
from jobnaut.app.jobs.models import Job
from jobnaut.app.jobs.schemas import JobSummary, job_summary
from jobnaut.app.matching.service import match, recommend
from jobnaut.app.responses import errors
from jobnaut.app.types import IdPath

router = APIRouter(prefix="/api", tags=["matching"], responses=errors(401, 409, 422))


class MatchOut(BaseModel):
    job_id: int
    score: int
    matched: list[str]
    missing: list[str]


class Recommendation(BaseModel):
    job: JobSummary
    score: int
    missing: list[str]


class RecommendationList(BaseModel):
    items: list[Recommendation]


@router.get("/jobs/{job_id}/match", response_model=MatchOut, responses=errors(404))
def job_match(job_id: IdPath, user: CurrentUser, db: SessionDep) -> MatchOut:
    job = db.get(Job, job_id)
    if job is None:
        raise not_found("job")
    result = match(user_skills(db=db, user=user), job.skill_names)
    return MatchOut(job_id=job.id, score=result.score, matched=result.matched,
                    missing=result.missing)


@router.get("/recommendations", response_model=RecommendationList)
def recommendations(
    user: CurrentUser, db: SessionDep, limit: Annotated[int, Query(ge=1, le=50)] = 10
) -> RecommendationList:
    ranked = recommend(db=db, user_skills=user_skills(db=db, user=user), limit=limit)
    return RecommendationList(
        items=[Recommendation(job=job_summary(j), score=m.score, missing=m.missing)
               for j, m in ranked]
    )
