"""Skill match: how much of a job's skill list a person has, and what is missing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobnaut.app.jobs.models import Job, JobSkill


@dataclass(frozen=True)
class Match:
    score: int
    matched: list[str]
    missing: list[str]


def match(user_skills: list[str], job_skills: list[str]) -> Match:
    have = {s.lower() for s in user_skills}
    wanted = sorted({s.lower() for s in job_skills})
    matched = [s for s in wanted if s in have]
    missing = [s for s in wanted if s not in have]
    score = round(100 * len(matched) / len(wanted)) if wanted else 100
    return Match(score=score, matched=matched, missing=missing)


def recommend(*, db: Session, user_skills: list[str], limit: int) -> list[tuple[Job, Match]]:
    """Jobs ranked by the share of their skills the person has (then by most skills shared)."""
    have = sorted({s.lower() for s in user_skills})
    if not have:
        return []
    shared = (
        select(JobSkill.job_id, func.count().label("shared"))
        .where(JobSkill.skill.in_(have))
        .group_by(JobSkill.job_id)
        .subquery()
    )
    wanted = (
        select(JobSkill.job_id, func.count().label("wanted"))
        .group_by(JobSkill.job_id)
        .subquery()
    )
    ratio = shared.c.shared * 1.0 / wanted.c.wanted
    stmt = (
        select(Job)
        .join(shared, shared.c.job_id == Job.id)
        .join(wanted, wanted.c.job_id == Job.id)
        .order_by(ratio.desc(), shared.c.shared.desc(), Job.posted_at.desc(), Job.id.desc())
        .limit(limit)
    )
    return [(job, match(have, job.skill_names)) for job in db.scalars(stmt)]
