"""Job search over the database's own full-text index: tsvector on PostgreSQL, FTS5 on SQLite.

A search runs in narrow steps rather than one wide query (docs/adr/0017):

1. the total, counted no further than TOTAL_CAP + 1 (more is "10,000+", `total_capped`); on
   SQLite, a text search with no other filter is counted inside the FTS5 index alone;
2. the page's ids, sorted on the sort keys only, so the sort never carries whole rows
   (descriptions) around. Relevance reads the RANK_WINDOW + 1 most recently added matches
   with their rank: when that is all of them it is also the total, and they are ranked as
   a whole; when there are more, the window is ranked and the rest follow in id order;
3. the page's columns and skills (two Core queries, no ORM objects), in page order, as the
   dicts the API serializes.

Filters are written so that indexes can serve them: the location substring is matched
against the few distinct locations (found with an index skip-scan) and the job then filtered
with `location IN (…)`; "has every skill" is one indexed `id IN (jobs with skill S)` per
skill. Migration 0003 adds the indexes these read. Bulk loads end with fresh planner
statistics (jobs/stats.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    column,
    false,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session, aliased

from jobnaut.app.jobs.models import Job, JobSkill
from jobnaut.app.jobs.schemas import TOTAL_CAP, JobQuery

# Above this many distinct locations, a location filter tests every job's location instead.
_MAX_LOCATIONS = 500
_WORD = re.compile(r"\w+", re.UNICODE)
_FTS5 = table("jobs_fts", column("rowid"))


# When more jobs than this match a text search, relevance ranks the most recently added this
# many of them and lists the rest after them, most recently added first (docs/adr/0017).
RANK_WINDOW = 1_000
# JobSummary's fields but skills, in its order (so the JSON reads as before).
SUMMARY_COLUMNS = ("id", "title", "company", "location", "remote", "salary_min", "salary_max",
                   "currency", "experience_level", "posted_at")

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


@dataclass(frozen=True)
class Found:
    """A page of results. `total` is exact up to TOTAL_CAP; above it, it is TOTAL_CAP and
    `total_capped` is set ("10,000+ jobs")."""

    total: int
    total_capped: bool
    items: list[dict[str, Any]]  # JobSummary's fields, ready to serialize


def search_jobs(*, db: Session, query: JobQuery) -> Found:
    postgresql = db.get_bind().dialect.name == "postgresql"
    if postgresql:
        # The jobs table is read through its indexes far faster than its (cached) heap is
        # scanned, above all for `@@`, which the planner prices like a cheap operator; say
        # so for this transaction only. A planner cost, not a change of what is returned.
        db.execute(text("SET LOCAL random_page_cost = 1.1"))

    ids: Select[tuple[int]] = select(Job.id)
    rank: ColumnElement[Any] | None = None
    added_order: ColumnElement[Any] = Job.__table__.c.id  # newest added first, off an index
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
                return Found(0, False, [])
            # The FTS5 table leads the join (not a subquery): bm25() is then computed only
            # for the rows read, and FTS5 hands its matches out in rowid order itself.
            matched = text("jobs_fts MATCH :fts_match").bindparams(fts_match=fts_match)
            ids = ids.select_from(_FTS5).join(Job, Job.id == _FTS5.c.rowid).where(matched)
            rank = literal_column("bm25(jobs_fts)")  # lower is better
            added_order = _FTS5.c.rowid

    written = _filters(db, query)
    filters = written(None)
    unfiltered = ids
    ids = ids.where(*filters)
    offset, limit = (query.page - 1) * query.per_page, query.per_page

    if fts_match is not None and not filters:  # counted inside the FTS5 index alone
        counted: Select[Any] = (
            select(literal_column("1")).select_from(text("jobs_fts"))
            .where(text("jobs_fts MATCH :fts_match").bindparams(fts_match=fts_match))
        )
    else:
        counted = ids
    if query.sort == "relevance" and rank is not None:
        total, page_ids = _ranked_page(db, ids, counted, rank, added_order, offset, limit)
    else:
        total = _count_upto(db, counted, TOTAL_CAP + 1)
        along = None if postgresql or fts_match is not None else _walk_order(
            db, query, total, offset + limit)
        if along is not None:
            ids = unfiltered.where(*written(along))
        page_ids = [] if _past_the_end(total, offset) else list(
            db.scalars(ids.order_by(*_ordering(query, rank)).offset(offset).limit(limit))
        )
    return Found(min(total, TOTAL_CAP), total > TOTAL_CAP, _summaries(db, page_ids))


def _walk_order(db: Session, query: JobQuery, counted: int, page_end: int) -> str | None:
    """SQLite, filters without text: the column whose index to read a page off in order,
    or None to let the filters' indexes drive (then sort what they find).

    SQLite's planner weighs a LIMIT lightly: given an index for a filter it reads every
    job that filter admits and sorts them, even when the jobs in sort order would meet the
    page after a few hundred index entries. The count already taken says which is cheaper:
    walking the order reads about page_end × jobs ÷ counted entries, the filters' way
    about `counted` rows (or more: the count stopped at TOTAL_CAP + 1)."""
    if not counted:
        return None
    jobs = db.scalar(select(func.max(Job.id))) or 0
    if page_end * jobs >= counted * counted:
        return None
    return "salary_max" if query.sort == "salary" else "posted_at"


def _past_the_end(counted: int, offset: int) -> bool:
    """Whether a page from `offset` is surely empty: a capped count cannot tell."""
    return counted <= TOTAL_CAP and counted <= offset


def _count_upto(db: Session, matching: Select[Any], most: int) -> int:
    """How many rows `matching` has, counting no further than `most`."""
    return db.scalar(select(func.count()).select_from(matching.limit(most).subquery())) or 0


def _ranked_page(db: Session, ids: Select[tuple[int]], counted: Select[Any],
                 rank: ColumnElement[Any], added_order: ColumnElement[Any], offset: int,
                 limit: int) -> tuple[int, list[int]]:
    """(the total counted up to TOTAL_CAP + 1, the page's ids) in relevance order.

    The first read is the RANK_WINDOW + 1 most recently added matches (highest id: both
    databases hand matches out in that order from an index, and stop there), each with its
    rank. Fewer than that is every match, ranked as a whole, in the order of old (rank,
    newest, id), and no count is needed. More, and relevance ranks the RANK_WINDOW most
    recently added matches (the window), and the rest follow, most recently added first
    (docs/adr/0017): positions past the window are those of the plain id order, so a page
    there is read off it."""
    rows = db.execute(
        ids.add_columns(rank.label("rank"), Job.posted_at)
        .order_by(added_order.desc()).limit(RANK_WINDOW + 1)
    ).all()
    # ORDER BY rank, posted_at DESC, id DESC, in Python for the window's rows: Python's
    # sort is stable, so the later (major) key keeps the earlier one's order among ties.
    window = sorted(rows[:RANK_WINDOW], key=lambda row: (row.posted_at, row.id), reverse=True)
    window.sort(key=lambda row: row.rank)  # lower is better on both databases
    page = [row.id for row in window[offset:offset + limit]]
    if len(rows) <= RANK_WINDOW:
        return len(rows), page
    total = _count_upto(db, counted, TOTAL_CAP + 1)
    rest_from = max(offset, RANK_WINDOW)
    if offset + limit > rest_from and not _past_the_end(total, rest_from):
        page += db.scalars(ids.order_by(added_order.desc())
                           .offset(rest_from).limit(offset + limit - rest_from))
    return total, page


def _summaries(db: Session, page_ids: list[int]) -> list[dict[str, Any]]:
    """The page's jobs as JobSummary dicts, in page order: columns and skills read
    directly (two queries), no ORM objects and no model validation on the way."""
    if not page_ids:
        return []
    rows = {row.id: row._asdict() for row in db.execute(
        select(*(getattr(Job, name) for name in SUMMARY_COLUMNS)).where(Job.id.in_(page_ids))
    )}
    skills: dict[int, list[str]] = {job_id: [] for job_id in rows}
    for job_id, skill in db.execute(
        select(JobSkill.job_id, JobSkill.skill).where(JobSkill.job_id.in_(page_ids))
        .order_by(JobSkill.job_id, JobSkill.skill)
    ):
        skills[job_id].append(skill)
    items = []
    for job_id in page_ids:
        row = rows.get(job_id)
        if row is None:  # deleted between the two reads
            continue
        posted = row["posted_at"]
        row["posted_at"] = posted if posted.tzinfo else posted.replace(tzinfo=UTC)
        items.append({**row, "skills": skills[job_id]})
    return items


def _filters(db: Session, query: JobQuery) -> Callable[[str | None], list[ColumnElement[bool]]]:
    """The query's filters, written for either plan: `written(None)` lets the planner drive
    from any filter's index; `written(column)` (SQLite) lets only `column` use an index
    (the others behind a unary +, skills as a correlated EXISTS), so that a page sorted on
    that column is read off its index in order, stopping after the page (see _walk_order)."""
    pattern = f"%{_escape_like(query.location)}%" if query.location else ""
    locations = _locations_like(db, pattern) if query.location else None
    wanted = sorted({s.strip().lower() for s in query.skills if s.strip()})

    def written(along: str | None) -> list[ColumnElement[bool]]:
        def col(name: str) -> ColumnElement[Any]:
            column: ColumnElement[Any] = Job.__table__.c[name]
            if along is None or name == along:
                return column
            return literal_column(f"+jobs.{name}", column.type)

        filters: list[ColumnElement[bool]] = []
        if query.location and locations is None:  # too many places to list: test every job
            filters.append(col("location").ilike(pattern, escape="\\"))
        elif query.location:
            filters.append(col("location").in_(locations) if locations else false())
        if query.remote is not None:
            filters.append(col("remote").is_(query.remote))
        if query.salary_min is not None:  # the job can pay at least this much
            filters.append(col("salary_max") >= query.salary_min)
        if query.salary_max is not None:  # the job starts at or below this
            filters.append(col("salary_min") <= query.salary_max)
        if query.currency:
            filters.append(col("currency") == query.currency)
        if query.experience_level:
            filters.append(col("experience_level") == query.experience_level)
        if query.posted_since:
            filters.append(col("posted_at") >= datetime.combine(query.posted_since, time.min,
                                                                 UTC))
        if query.skills:  # jobs that ask for every one of the given skills
            if not wanted:
                filters.append(false())
            for skill in wanted:  # (job_skills is keyed by job and skill: no duplicates)
                if along is None:
                    filters.append(Job.id.in_(select(JobSkill.job_id)
                                              .where(JobSkill.skill == skill)))
                else:
                    filters.append(select(JobSkill.job_id).where(
                        JobSkill.job_id == Job.id, JobSkill.skill == skill).exists())
        return filters

    return written


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
