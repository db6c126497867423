"""How well a job fits a person: skills, experience level and location together, and
recommendations ranked by that fit and by how recent the posting is.

The score (0-100) is what a person sees ("72 % match"); it weighs the parts of the profile
that are filled in, so a profile with skills only is scored on skills only. Ranking adds
a small bonus for fresh postings, so among equally good fits the newest come first and a
week-old near-perfect fit can pass a two-month-old perfect one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobnaut.app.jobs.models import EXPERIENCE_LEVELS, Job, JobSkill

# How much each part of the fit counts, out of the parts the profile fills in.
WEIGHTS = {"skills": 60, "level": 25, "location": 15}
# Ranking: a posting of today gets this many points on top of its score; the bonus falls
# to nothing over FRESH_DAYS.
RECENCY_POINTS = 10
FRESH_DAYS = 60
# A remote job fits wherever the person lives, nearly as well as one in their city.
REMOTE_FIT = 0.8


@dataclass(frozen=True)
class MatchProfile:
    """The parts of a profile that matching reads (location already decrypted)."""

    skills: list[str]
    level: str | None = None
    location: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.skills or self.level or self.location)


@dataclass(frozen=True)
class Match:
    score: int
    matched: list[str]
    missing: list[str]
    level_fit: float | None = None  # None: the profile has no level
    location_fit: float | None = None  # None: the profile has no location


def skill_share(user_skills: list[str], job_skills: list[str]) -> tuple[list[str], list[str]]:
    have = {s.lower() for s in user_skills}
    wanted = sorted({s.lower() for s in job_skills})
    return [s for s in wanted if s in have], [s for s in wanted if s not in have]


def level_fit(wanted: str, offered: str) -> float:
    """1 for the person's own level, 0.5 one step away (senior ↔ lead), else 0."""
    if wanted not in EXPERIENCE_LEVELS or offered not in EXPERIENCE_LEVELS:
        return 0.0
    steps = abs(EXPERIENCE_LEVELS.index(wanted) - EXPERIENCE_LEVELS.index(offered))
    return {0: 1.0, 1: 0.5}.get(steps, 0.0)


def _place_parts(place: str) -> list[str]:
    return [part.strip().lower() for part in place.split(",") if part.strip()]


def location_fit(home: str, job_location: str, remote: bool) -> float:
    """1 in the person's city, REMOTE_FIT for remote work, 0.5 in the same country or
    state (the last part of "City, Country"), else 0."""
    mine, theirs = _place_parts(home), _place_parts(job_location)
    if not mine:
        return 0.0
    if theirs and mine[0] == theirs[0]:
        return 1.0
    if remote:
        return REMOTE_FIT
    # "Germany" alone, or "Munich, Germany" against "Berlin, Germany".
    if theirs and (mine[-1] == theirs[-1] or mine[0] == theirs[-1]):
        return 0.5
    return 0.0


def fit(profile: MatchProfile, *, skills: list[str], level: str, location: str,
        remote: bool) -> Match:
    matched, missing = skill_share(profile.skills, skills)
    wanted = len(matched) + len(missing)
    parts = {"skills": len(matched) / wanted if wanted else 1.0}
    lvl = level_fit(profile.level, level) if profile.level else None
    where = location_fit(profile.location, location, remote) if profile.location else None
    if lvl is not None:
        parts["level"] = lvl
    if where is not None:
        parts["location"] = where
    if profile.is_empty:
        parts["skills"] = 0.0  # nothing known about the person: no claim of a fit
    total = sum(WEIGHTS[name] for name in parts)
    score = round(100 * sum(WEIGHTS[name] * value for name, value in parts.items()) / total)
    return Match(score=score, matched=matched, missing=missing, level_fit=lvl,
                 location_fit=where)


def match(profile: MatchProfile, job: Job) -> Match:
    return fit(profile, skills=job.skill_names, level=job.experience_level,
               location=job.location, remote=job.remote)


def freshness(posted_at: datetime, now: datetime) -> float:
    """1 for a posting of today, falling linearly to 0 at FRESH_DAYS old."""
    posted = posted_at if posted_at.tzinfo else posted_at.replace(tzinfo=UTC)
    age_days = max(0.0, (now - posted).total_seconds() / 86400)
    return max(0.0, 1 - age_days / FRESH_DAYS)


def rank_value(score: int, posted_at: datetime, now: datetime) -> float:
    return score + RECENCY_POINTS * freshness(posted_at, now)


def recommend(*, db: Session, profile: MatchProfile, limit: int,
              now: datetime | None = None) -> list[tuple[Job, Match]]:
    """The best `limit` jobs among those sharing at least one skill with the person.

    Only the few columns the score needs are read for every candidate (id, level,
    location, remote, date, skills); whole jobs are loaded for the winners only.
    """
    have = sorted({s.lower() for s in profile.skills})
    if not have:
        return []
    now = now or datetime.now(UTC)
    candidates = select(JobSkill.job_id).where(JobSkill.skill.in_(have)).distinct()
    rows = db.execute(
        select(Job.id, Job.experience_level, Job.location, Job.remote, Job.posted_at)
        .where(Job.id.in_(candidates))
    ).all()
    skills: dict[int, list[str]] = {}
    for job_id, skill in db.execute(
        select(JobSkill.job_id, JobSkill.skill).where(JobSkill.job_id.in_(candidates))
    ):
        skills.setdefault(job_id, []).append(skill)
    scored = []
    for job_id, level, location, remote, posted_at in rows:
        result = fit(profile, skills=skills.get(job_id, []), level=level, location=location,
                     remote=remote)
        scored.append((rank_value(result.score, posted_at, now), posted_at, job_id, result))
    scored.sort(key=lambda item: (item[0], item[1], item[2]), reverse=True)
    best = scored[:limit]
    jobs = {job.id: job for job in db.scalars(select(Job).where(Job.id.in_(
        [job_id for _, _, job_id, _ in best])))}
    return [(jobs[job_id], result) for _, _, job_id, result in best]


def matches_for(*, db: Session, profile: MatchProfile,
                job_ids: list[int]) -> list[tuple[int, Match]]:
    """The match of each of these jobs (a search results page), in the order given;
    unknown ids are left out."""
    jobs = {job.id: job for job in db.scalars(select(Job).where(Job.id.in_(job_ids)))}
    return [(job_id, match(profile, jobs[job_id])) for job_id in job_ids if job_id in jobs]
