"""Import job-feed pages into the database: one transaction per page, upserting by
(source, external_id), so a re-import updates postings instead of duplicating them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from jobnaut.app.db import transaction
from jobnaut.app.importer.client import JSearchError
from jobnaut.app.importer.mapping import InvalidPosting, MappedJob, map_posting
from jobnaut.app.jobs.models import Job, JobSkill
from jobnaut.app.jobs.stats import engine_of, refresh_job_statistics

log = logging.getLogger("jobnaut.importer")


class PageSource(Protocol):
    def search_page(self, query: str, page: int = 1, *, country: str | None = None,
                    date_posted: str | None = None) -> list[dict[str, Any]]: ...


@dataclass
class ImportResult:
    pages: int = 0  # pages fetched and saved
    fetched: int = 0  # postings received
    inserted: int = 0
    updated: int = 0
    skipped: int = 0  # postings without an id or a title
    problems: list[str] = field(default_factory=list)

    def add(self, other: ImportResult) -> None:
        self.pages += other.pages
        self.fetched += other.fetched
        self.inserted += other.inserted
        self.updated += other.updated
        self.skipped += other.skipped
        self.problems.extend(other.problems)


class ImportFailed(Exception):
    """A page could not be fetched or saved. Nothing of that page was written; the pages
    before it were, and `result` counts them."""

    def __init__(self, message: str, *, page: int, result: ImportResult):
        self.page = page
        self.result = result
        super().__init__(message)


def import_jobs(
    sessions: sessionmaker[Session],
    source: PageSource,
    query: str,
    *,
    pages: int = 1,
    country: str | None = None,
    date_posted: str | None = None,
    on_page: Callable[[int, ImportResult], None] | None = None,
) -> ImportResult:
    """Fetch up to `pages` pages for `query` and upsert their postings, page by page."""
    if not query.strip():
        raise ValueError("query is empty")
    if pages < 1:
        raise ValueError("pages must be at least 1")
    total = ImportResult()
    try:
        for page in range(1, pages + 1):
            try:
                postings = source.search_page(query, page, country=country, date_posted=date_posted)
            except JSearchError as exc:
                raise ImportFailed(str(exc), page=page, result=total) from exc
            if not postings:
                break  # the feed has no more results
            page_result = map_postings(postings)
            try:
                page_result.inserted, page_result.updated = _save_page(sessions, page_result.jobs)
            except SQLAlchemyError as exc:
                raise ImportFailed(f"database error while saving page {page}: {_db_reason(exc)}",
                                   page=page, result=total) from exc
            page_result.pages = 1
            total.add(page_result)
            if on_page is not None:
                on_page(page, page_result)
    finally:
        if total.inserted or total.updated:  # also when a later page failed
            _refresh_statistics(sessions)
    return total


def _refresh_statistics(sessions: sessionmaker[Session]) -> None:
    """The planner's statistics after the import; a failure here is only a warning (the
    postings are saved, and the import's own error, if any, is the one to report)."""
    try:
        refresh_job_statistics(engine_of(sessions))
    except SQLAlchemyError as exc:
        log.warning("could not refresh the jobs tables' statistics: %s", _db_reason(exc))


@dataclass
class PageResult(ImportResult):
    jobs: list[MappedJob] = field(default_factory=list)


def map_postings(postings: Sequence[dict[str, Any]]) -> PageResult:
    result = PageResult(fetched=len(postings))
    for raw in postings:
        try:
            result.jobs.append(map_posting(raw))
        except InvalidPosting as exc:
            result.skipped += 1
            result.problems.append(str(exc))
            log.warning("skipped a posting: %s", exc)
    return result


def _save_page(sessions: sessionmaker[Session], jobs: list[MappedJob]) -> tuple[int, int]:
    for attempt in (1, 2):
        try:
            with transaction(sessions) as db:
                return upsert_jobs(db, jobs)
        except IntegrityError:
            # Another import inserted one of these postings meanwhile: the second try
            # finds it and updates it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def upsert_jobs(db: Session, jobs: Sequence[MappedJob]) -> tuple[int, int]:
    """Insert new postings, update known ones (skills replaced); returns (inserted, updated)."""
    latest: dict[tuple[str, str], MappedJob] = {(j.source, j.external_id): j for j in jobs}
    if not latest:
        return 0, 0
    existing: dict[tuple[str, str], Job] = {}
    for source in {key[0] for key in latest}:
        ids = [ext for src, ext in latest if src == source]
        for job in db.scalars(
            select(Job).where(Job.source == source, Job.external_id.in_(ids))
        ):
            existing[(job.source, job.external_id)] = job
    inserted = updated = 0
    for key, mapped in latest.items():
        known = existing.get(key)
        if known is None:
            job = Job(**mapped.columns())
            job.skills = [JobSkill(skill=s) for s in mapped.skills]
            db.add(job)
            inserted += 1
        else:
            for name, value in mapped.columns().items():
                setattr(known, name, value)
            _replace_skills(known, mapped.skills)
            updated += 1
    db.flush()
    return inserted, updated


def _replace_skills(job: Job, skills: Sequence[str]) -> None:
    keep = [s for s in job.skills if s.skill in skills]
    have = {s.skill for s in keep}
    job.skills = keep + [JobSkill(skill=s) for s in skills if s not in have]


def _db_reason(exc: SQLAlchemyError) -> str:
    cause = getattr(exc, "orig", None) or exc
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line[:200]}" if first_line else type(cause).__name__
