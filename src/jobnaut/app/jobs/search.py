"""Job search over the database's own full-text index: tsvector on PostgreSQL, FTS5 on SQLite."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal_column, select, text
from sqlalchemy.orm import Session

from jobnaut.app.jobs.models import Job, JobSkill
from jobnaut.app.jobs.schemas import JobQuery

_WORD = re.compile(r"\w+", re.UNICODE)


def fts5_match(query: str) -> str | None:
    """User text → an FTS5 MATCH expression. Each word is quoted, so no input is a syntax
    error; the last word matches as a prefix, which is what a person typing expects."""
    words = _WORD.findall(query)
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def search_jobs(*, db: Session, query: JobQuery) -> tuple[int, list[Job]]:
    stmt: Select[tuple[Job]] = select(Job)
    rank: ColumnElement[float] | None = None
    if query.q and query.q.strip():
        stmt, rank = _full_text(db, stmt, query.q)
    stmt = stmt.where(*_filters(query))

    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    stmt = stmt.order_by(*_ordering(query, rank))
    stmt = stmt.offset((query.page - 1) * query.per_page).limit(query.per_page)
    return total, list(db.scalars(stmt))


def _full_text(
    db: Session, stmt: Select[tuple[Job]], q: str
) -> tuple[Select[tuple[Job]], ColumnElement[float] | None]:
    if db.get_bind().dialect.name == "postgresql":
        tsquery = func.websearch_to_tsquery("english", q)
        vector: ColumnElement[Any] = literal_column("jobs.search_vector")
        return stmt.where(vector.op("@@")(tsquery)), -func.ts_rank(vector, tsquery)
    match = fts5_match(q)
    if match is None:
        return stmt.where(text("0")), None
    hits = (
        select(
            literal_column("rowid").label("job_id"),
            literal_column("bm25(jobs_fts)").label("rank"),  # lower is better
        )
        .select_from(text("jobs_fts"))
        .where(text("jobs_fts MATCH :fts_match").bindparams(fts_match=match))
        .subquery()
    )
    return stmt.join(hits, hits.c.job_id == Job.id), hits.c.rank


def _filters(query: JobQuery) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if query.location:
        filters.append(Job.location.ilike(f"%{_escape_like(query.location)}%", escape="\\"))
    if query.remote is not None:
        filters.append(Job.remote.is_(query.remote))
    if query.salary_min is not None:  # the job can pay at least this much
        filters.append(Job.salary_max >= query.salary_min)
    if query.salary_max is not None:  # the job starts at or below this
        filters.append(Job.salary_min <= query.salary_max)
    if query.experience_level:
        filters.append(Job.experience_level == query.experience_level)
    if query.posted_since:
        filters.append(Job.posted_at >= datetime.combine(query.posted_since, time.min, UTC))
    if query.skills:  # jobs that ask for every one of the given skills
        wanted = sorted({s.strip().lower() for s in query.skills if s.strip()})
        having_all = (
            select(JobSkill.job_id)
            .where(JobSkill.skill.in_(wanted))
            .group_by(JobSkill.job_id)
            .having(func.count(JobSkill.skill) == len(wanted))
        )
        filters.append(Job.id.in_(having_all))
    return filters


def _ordering(query: JobQuery, rank: ColumnElement[float] | None) -> list[ColumnElement[Any]]:
    newest: list[ColumnElement[Any]] = [Job.posted_at.desc(), Job.id.desc()]
    if query.sort == "salary":
        return [Job.salary_max.desc().nulls_last(), *newest]
    if query.sort == "relevance" and rank is not None:
        return [rank.asc(), *newest]
    return newest


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
