"""Job search over the database's own full-text index: tsvector on PostgreSQL, FTS5 on SQLite.

A search runs in three narrow steps rather than one wide query:

1. the total: `count(*)` of the matching ids (on SQLite, a text search with no other filter
   is counted inside the FTS5 index alone, which holds exactly one row per job);
2. the page: the ids of the requested page, sorted on the sort keys only, so the sort never
   carries whole rows (descriptions) around;
3. the jobs of that page by primary key (their skills in one more query), in page order.

Filters are written so that indexes can serve them: the location substring is matched
against the few distinct locations (found with an index skip-scan) and the job then filtered
with `location IN (…)`; "has every skill" is one indexed `id IN (jobs with skill S)` per
skill. Migration 0003 adds the indexes these read.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    false,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Session, aliased

from jobnaut.app.jobs.models import Job, JobSkill
from jobnaut.app.jobs.schemas import JobQuery

# Above this many distinct locations, a location filter tests every job's location instead.
_MAX_LOCATIONS = 500
_WORD = re.compile(r"\w+", re.UNICODE)


# A query's cost grows with its terms, and a repeated term adds cost but no meaning.
MAX_TERMS = 8


def search_terms(query: str) -> list[str]:
    """The distinct terms of `query` (first spelling kept, case-insensitively), at most
    MAX_TERMS of them: "a a a … a" (100 times) is one term, not a hundred joins."""
    seen: set[str] = set()
    terms: list[str] = []
    for term in query.split():
        if term.lower() not in seen:
            seen.add(term.lower())
            terms.append(term)
    return terms[:MAX_TERMS]


def fts5_match(query: str) -> str | None:
    """User text → an FTS5 MATCH expression. Each word is quoted, so no input is a syntax
    error; the last word matches as a prefix, which is what a person typing expects."""
    words = search_terms(" ".join(_WORD.findall(query)))
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def search_jobs(*, db: Session, query: JobQuery) -> tuple[int, list[Job]]:
    postgresql = db.get_bind().dialect.name == "postgresql"
    if postgresql:
        # The jobs table is read through its indexes far faster than its (cached) heap is
        # scanned, above all for `@@`, which the planner prices like a cheap operator; say
        # so for this transaction only. A planner cost, not a change of what is returned.
        db.execute(text("SET LOCAL random_page_cost = 1.1"))

    ids: Select[tuple[int]] = select(Job.id)
    rank: ColumnElement[Any] | None = None
    fts_match: str | None = None
    if query.q and query.q.strip():
        if postgresql:
            tsquery = func.websearch_to_tsquery("english", " ".join(search_terms(query.q)))
            vector: ColumnElement[Any] = literal_column("jobs.search_vector")
            ids = ids.where(vector.op("@@")(tsquery))
            rank = -func.ts_rank(vector, tsquery)
        else:
            fts_match = fts5_match(query.q)
            if fts_match is None:  # nothing searchable in the text: nothing matches
                return 0, []
            hits = _fts5_hits(fts_match)
            ids = ids.join(hits, hits.c.job_id == Job.id)
            rank = hits.c.rank

    filters = _filters(db, query)
    ids = ids.where(*filters)

    if fts_match is not None and not filters:
        total = db.scalar(
            select(func.count())
            .select_from(text("jobs_fts"))
            .where(text("jobs_fts MATCH :fts_match").bindparams(fts_match=fts_match))
        ) or 0
    else:
        total = db.scalar(select(func.count()).select_from(ids.subquery())) or 0
    offset = (query.page - 1) * query.per_page
    if offset >= total:
        return total, []

    page_ids: list[int] = list(
        db.scalars(ids.order_by(*_ordering(query, rank)).offset(offset).limit(query.per_page))
    )
    jobs = {job.id: job for job in db.scalars(select(Job).where(Job.id.in_(page_ids)))}
    return total, [jobs[job_id] for job_id in page_ids if job_id in jobs]


def _fts5_hits(match: str) -> Any:
    return (
        select(
            literal_column("rowid").label("job_id"),
            literal_column("bm25(jobs_fts)").label("rank"),  # lower is better
        )
        .select_from(text("jobs_fts"))
        .where(text("jobs_fts MATCH :fts_match").bindparams(fts_match=match))
        .subquery()
    )


def _filters(db: Session, query: JobQuery) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if query.location:
        pattern = f"%{_escape_like(query.location)}%"
        locations = _locations_like(db, pattern)
        if locations is None:  # too many places to list: test every job
            filters.append(Job.location.ilike(pattern, escape="\\"))
        else:
            filters.append(Job.location.in_(locations) if locations else false())
    if query.remote is not None:
        filters.append(Job.remote.is_(query.remote))
    if query.salary_min is not None:  # the job can pay at least this much
        filters.append(Job.salary_max >= query.salary_min)
    if query.salary_max is not None:  # the job starts at or below this
        filters.append(Job.salary_min <= query.salary_max)
    if query.currency:
        filters.append(Job.currency == query.currency)
    if query.experience_level:
        filters.append(Job.experience_level == query.experience_level)
    if query.posted_since:
        filters.append(Job.posted_at >= datetime.combine(query.posted_since, time.min, UTC))
    if query.skills:  # jobs that ask for every one of the given skills
        wanted = sorted({s.strip().lower() for s in query.skills if s.strip()})
        if not wanted:
            filters.append(false())
        for skill in wanted:  # (job_skills is keyed by job and skill: no duplicates)
            filters.append(Job.id.in_(select(JobSkill.job_id).where(JobSkill.skill == skill)))
    return filters


def _locations_like(db: Session, pattern: str) -> list[str] | None:
    """The distinct job locations that match the ILIKE `pattern`, or None when there are
    more than _MAX_LOCATIONS of them. Jobs share few locations, so they are enumerated from
    the location index one distinct value at a time (a loose index scan, bounded) instead of
    testing the pattern against every job."""
    later = aliased(Job)
    seen = (
        select(func.min(Job.location).label("location"))
        .cte("seen_locations", recursive=True)
    )
    step = select(
        select(func.min(later.location))
        .where(later.location > seen.c.location)
        .scalar_subquery()
    ).where(seen.c.location.is_not(None))
    seen = seen.union_all(step)
    rows = db.execute(
        select(seen.c.location, seen.c.location.ilike(pattern, escape="\\"))
        .where(seen.c.location.is_not(None))
        .limit(_MAX_LOCATIONS + 1)
    ).all()
    if len(rows) > _MAX_LOCATIONS:
        return None
    return [location for location, matches in rows if matches]


def _ordering(query: JobQuery, rank: ColumnElement[Any] | None) -> list[ColumnElement[Any]]:
    newest: list[ColumnElement[Any]] = [Job.posted_at.desc(), Job.id.desc()]
    if query.sort == "salary":
        return [Job.salary_max.desc().nulls_last(), *newest]
    if query.sort == "relevance" and rank is not None:
        return [rank.asc(), *newest]
    return newest


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
