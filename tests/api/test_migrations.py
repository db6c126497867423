"""Schema migrations up and down on a real database of each kind, without a server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from jobnaut.app import schema
from jobnaut.app.accounts.models import Profile, User
from jobnaut.app.db import make_engine, make_sessionmaker, transaction
from jobnaut.app.jobs.demo import generate_jobs, load_jobs
from jobnaut.app.jobs.models import Job
from jobnaut.app.jobs.schemas import JobQuery
from jobnaut.app.jobs.search import search_jobs
from jobnaut.app.saved.models import SavedJob, StatusChange
from jobnaut.config import parse_database_url

HEAD_TABLES = {"users", "auth_tokens", "profiles", "jobs", "job_skills", "saved_jobs",
               "problem_reports", "status_subscriptions",
               "saved_job_events"}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(parse_database_url(database_url))
    yield engine
    engine.dispose()


def tables(engine: Engine) -> set[str]:
    names = set(inspect(engine).get_table_names())
    # SQLite's FTS5 shadow tables and Alembic's bookkeeping are not application tables.
    return {n for n in names if not n.startswith("jobs_fts") and n != "alembic_version"}


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def find(engine: Engine, q: str, **filters: Any) -> list[str]:
    with transaction(make_sessionmaker(engine)) as db:
        found = search_jobs(db=db, query=JobQuery(q=q, per_page=100, **filters))
        ids = [job["id"] for job in found.items]
        external = dict(db.execute(select(Job.id, Job.external_id).where(Job.id.in_(ids))).all())
        return [external[job_id] for job_id in ids]


def one_job(external_id: str, title: str, description: str) -> dict[str, object]:
    return {
        "source": "test", "external_id": external_id, "title": title, "company": "Migrate Co",
        "location": "Lisbon, Portugal", "remote": True, "salary_min": 50_000,
        "salary_max": 60_000, "currency": "EUR", "experience_level": "mid",
        "description": description, "url": None,
        "posted_at": datetime(2026, 11, 1, tzinfo=UTC), "skills": ["zig"],
    }


def test_head_is_the_newest_shipped_revision(engine: Engine) -> None:
    assert schema.current_revision(engine) is None
    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.expected_revision()
    assert tables(engine) == HEAD_TABLES


def test_downgrade_to_0001_keeps_data_and_upgrade_restores_search(engine: Engine) -> None:
    schema.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as db:
        loaded = load_jobs(db, generate_jobs(8, seed=7))
        users = [User(email=f"m{n}@example.com", password_hash="x") for n in range(3)]
        db.add_all(users)
        db.flush()
        db.add(Profile(user_id=users[0].id, skills=["python"]))
        job_ids = db.scalars(select(Job.id).order_by(Job.id)).all()
        for user, job_id in zip(users, job_ids, strict=False):
            saved = SavedJob(user_id=user.id, job_id=job_id, status="saved")
            saved.events.append(StatusChange(from_status=None, to_status="saved"))
            db.add(saved)
    assert loaded == 8
    assert count(engine, "saved_jobs") == 3 and count(engine, "saved_job_events") == 3
    titles_before = find(engine, "engineer") + find(engine, "developer")
    everything_before = sorted(find(engine, "hiring"))
    assert len(everything_before) == 8

    schema.downgrade(engine, "0001")
    assert schema.current_revision(engine) == "0001"
    assert tables(engine) == HEAD_TABLES - {"saved_jobs", "saved_job_events", "problem_reports",
                                            "status_subscriptions"}
    assert count(engine, "users") == 3
    assert count(engine, "profiles") == 1
    assert count(engine, "jobs") == 8
    assert count(engine, "job_skills") > 8
    # 0001 still searches: the full-text index belongs to it.
    assert sorted(find(engine, "hiring")) == everything_before

    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.expected_revision()
    assert tables(engine) == HEAD_TABLES
    assert count(engine, "saved_jobs") == 0  # the downgrade dropped them, as it says
    assert count(engine, "users") == 3 and count(engine, "jobs") == 8
    assert sorted(find(engine, "hiring")) == everything_before
    assert find(engine, "engineer") + find(engine, "developer") == titles_before

    # Rows written after the round trip are indexed too (triggers on SQLite, a generated
    # column on PostgreSQL).
    with transaction(sessions) as db:
        load_jobs(db, iter([one_job("fresh-1", "Zig Compiler Hacker",
                                    "Write a borrow checker for a unicycle fleet.")]))
    assert find(engine, "unicycle") == ["fresh-1"]
    assert find(engine, "compiler hacker") == ["fresh-1"]
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET description = 'Now about penguins.' "
                          "WHERE external_id = 'fresh-1'"))
    assert find(engine, "unicycle") == []
    assert find(engine, "penguins") == ["fresh-1"]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM jobs WHERE external_id = 'fresh-1'"))
    assert find(engine, "penguins") == []


def test_downgrade_to_base_then_upgrade_on_an_empty_database(engine: Engine) -> None:
    schema.upgrade(engine)
    with transaction(make_sessionmaker(engine)) as db:
        load_jobs(db, generate_jobs(3, seed=1))

    schema.downgrade(engine, "base")
    assert schema.current_revision(engine) is None
    assert tables(engine) == set()
    assert not [n for n in inspect(engine).get_table_names() if n.startswith("jobs_fts")]

    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.expected_revision()
    assert tables(engine) == HEAD_TABLES
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Job)).scalar_one() == 0
    assert find(engine, "hiring") == []
    with transaction(make_sessionmaker(engine)) as db:
        load_jobs(db, iter([one_job("after-reset", "Archivist", "Catalogue the kelp forest.")]))
    assert find(engine, "kelp") == ["after-reset"]


def test_upgrade_is_idempotent_at_head(engine: Engine) -> None:
    schema.upgrade(engine)
    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.expected_revision()


def test_0004_downgrade_brings_removed_cards_back_with_their_history(engine: Engine) -> None:
    schema.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as db:
        load_jobs(db, generate_jobs(2, seed=3))
        user = User(email="undo@example.com", password_hash="x")
        db.add(user)
        db.flush()
        for job_id in db.scalars(select(Job.id)).all():
            saved = SavedJob(user_id=user.id, job_id=job_id, status="applied",
                             removed_at=datetime(2026, 11, 29, tzinfo=UTC))
            saved.events.append(StatusChange(from_status=None, to_status="applied"))
            db.add(saved)

    schema.downgrade(engine, "0003")
    assert "removed_at" not in {c["name"] for c in inspect(engine).get_columns("saved_jobs")}
    assert tables(engine) == HEAD_TABLES - {"problem_reports", "status_subscriptions"}
    assert count(engine, "saved_jobs") == 2 and count(engine, "saved_job_events") == 2
    schema.upgrade(engine)
    with engine.connect() as conn:  # back on the board: nothing marks them removed
        removed = conn.execute(text("SELECT count(*) FROM saved_jobs WHERE removed_at IS NOT NULL"))
        assert removed.scalar_one() == 0


def test_a_sqlite_migration_under_a_stream_of_writes_waits_its_turn(tmp_path: Any) -> None:
    """A deploy migrates while the old release still serves writes. On SQLite a deferred
    transaction that has read the schema fails at its first write ("database is locked",
    at once) if a write landed in between; the migration must take its turn instead."""
    import threading

    engine = make_engine(parse_database_url(f"sqlite:///{tmp_path / 'busy.db'}"))
    schema.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE ticks (n INTEGER)"))
    stop, written = threading.Event(), [0]

    def users_write() -> None:
        while not stop.is_set():
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO ticks (n) VALUES (1)"))
            written[0] += 1

    writer = threading.Thread(target=users_write, daemon=True)
    writer.start()
    try:
        for _ in range(3):  # batch migrations rebuild tables: long reads before the writes
            schema.downgrade(engine, "0003")
            schema.upgrade(engine)
    finally:
        stop.set()
        writer.join(timeout=30)
        engine.dispose()
    assert written[0] > 0
