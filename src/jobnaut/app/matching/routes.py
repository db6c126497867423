from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from jobnaut.app.accounts.models import User
from jobnaut.app.accounts.service import get_profile
from jobnaut.app.crypto import FieldCipher
from jobnaut.app.deps import CipherDep, CurrentUser, SessionDep
from jobnaut.app.errors import ApiError, not_found
from jobnaut.app.jobs.models import Job
from jobnaut.app.jobs.schemas import JobSummary, job_summary
from jobnaut.app.matching.service import Match, MatchProfile, match, matches_for, recommend
from jobnaut.app.responses import errors
from jobnaut.app.types import IdPath

router = APIRouter(prefix="/api", tags=["matching"], responses=errors(401, 409, 422))

MAX_MATCH_IDS = 100


class MatchOut(BaseModel):
    job_id: int
    score: int = Field(description="0-100: skills, level and location together, weighed "
                                   "over the parts of the profile that are filled in")
    matched: list[str]
    missing: list[str]
    level_fit: float | None = Field(None, description="1 same level, 0.5 one step away, "
                                    "0 further; null when the profile has no level")
    location_fit: float | None = Field(None, description="1 same city, 0.8 remote, 0.5 "
                                       "same country, 0 elsewhere; null without a location")


class MatchList(BaseModel):
    profile_empty: bool = Field(description="the profile has no skills, level or location: "
                                "the scores say nothing")
    items: list[MatchOut]


class Recommendation(BaseModel):
    job: JobSummary
    score: int
    missing: list[str]


class RecommendationList(BaseModel):
    items: list[Recommendation]


def match_profile(*, db: Session, cipher: FieldCipher, user: User) -> MatchProfile:
    profile = get_profile(db=db, cipher=cipher, user=user)
    return MatchProfile(skills=profile.skills, level=profile.experience_level,
                        location=profile.location)


def _out(job_id: int, result: Match) -> MatchOut:
    return MatchOut(job_id=job_id, score=result.score, matched=result.matched,
                    missing=result.missing, level_fit=result.level_fit,
                    location_fit=result.location_fit)


@router.get("/jobs/{job_id}/match", response_model=MatchOut, responses=errors(404))
def job_match(job_id: IdPath, user: CurrentUser, db: SessionDep, cipher: CipherDep) -> MatchOut:
    job = db.get(Job, job_id)
    if job is None:
        raise not_found("job")
    return _out(job.id, match(match_profile(db=db, cipher=cipher, user=user), job))


@router.get("/matches", response_model=MatchList)
def job_matches(
    user: CurrentUser, db: SessionDep, cipher: CipherDep,
    job_ids: Annotated[str, Query(max_length=2000, description="comma-separated job ids "
                                  f"(at most {MAX_MATCH_IDS}), e.g. a page of results")],
) -> MatchList:
    """The match of each job of a search results page, in one call."""
    try:
        ids = [int(part) for part in job_ids.split(",") if part.strip()]
    except ValueError:
        raise ApiError(422, "validation_error", "job_ids: comma-separated numbers") from None
    if len(ids) > MAX_MATCH_IDS:
        raise ApiError(422, "validation_error", f"job_ids: at most {MAX_MATCH_IDS}")
    profile = match_profile(db=db, cipher=cipher, user=user)
    return MatchList(
        profile_empty=profile.is_empty,
        items=[_out(job_id, result)
               for job_id, result in matches_for(db=db, profile=profile, job_ids=ids)],
    )


@router.get("/recommendations", response_model=RecommendationList)
def recommendations(
    user: CurrentUser, db: SessionDep, cipher: CipherDep,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> RecommendationList:
    """Jobs sharing a skill with the profile, best fit first (skills, level, location),
    fresher postings ahead of older ones of a similar fit."""
    profile = match_profile(db=db, cipher=cipher, user=user)
    ranked = recommend(db=db, profile=profile, limit=limit)
    return RecommendationList(
        items=[Recommendation(job=job_summary(j), score=m.score, missing=m.missing)
               for j, m in ranked]
    )
