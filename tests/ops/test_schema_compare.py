"""The whole-schema comparison behind `jobnaut migrate resolve`, on real databases of each
kind migrated by the shipped migrations: what it sees, and what it must not report."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from jobnaut.app import schema
from jobnaut.app.db import make_engine
from jobnaut.app.schema_shape import Shape, schema_shape, shape_differences
from jobnaut.config import parse_database_url
from tests.support.databases import PostgresServer

COVERING_INDEXES = ["ix_job_skills_skill_job_id", "ix_jobs_search_salary",
                    "ix_jobs_search_filters"]  # what migration 0003 adds


@pytest.fixture
def second_url(database_url: str, postgres: PostgresServer, tmp_path: Path) -> Iterator[str]:
    """Another fresh database of the same kind as `database_url`."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.sqlite3'}"
    else:
        with postgres.database() as url:
            yield url


def migrated(url: str, revision: str, *statements: str) -> Shape:
    engine = make_engine(parse_database_url(url))
    try:
        schema.upgrade(engine, revision)
        run(engine, *statements)
        return schema_shape(engine)
    finally:
        engine.dispose()


def run(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_indexes_tell_0003_from_0002(database_url: str, second_url: str) -> None:
    differences = shape_differences(migrated(second_url, "0002"),
                                    migrated(database_url, "0003"))
    assert sorted(d.split(" (")[0] for d in differences) == [
        "extra index job_skills.ix_job_skills_skill_job_id",
        "extra index jobs.ix_jobs_search_filters", "extra index jobs.ix_jobs_search_salary"]
    assert "extra index job_skills.ix_job_skills_skill_job_id (skill, job_id)" in differences


def test_a_schema_reverted_by_hand_matches_and_column_order_is_ignored(
        database_url: str, second_url: str) -> None:
    reverted = migrated(database_url, "0003", *(f"DROP INDEX {ix}" for ix in COVERING_INDEXES),
                        "ALTER TABLE users ADD COLUMN nickname VARCHAR(80)",
                        "ALTER TABLE users DROP COLUMN nickname")
    assert shape_differences(migrated(second_url, "0002"), reverted) == []


def test_types_nullability_constraints_and_triggers_are_compared(
        database_url: str, second_url: str) -> None:
    expected = migrated(second_url, "head")
    sqlite = database_url.startswith("sqlite")
    changes = [
        "CREATE UNIQUE INDEX ix_users_email_created ON users (email, created_at)",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL "
        "REFERENCES users (id), body VARCHAR(10) CHECK (body <> ''))",
    ]
    if sqlite:
        # SQLite cannot alter a column or drop a constraint in place: a trigger stands in.
        changes.append("DROP TRIGGER jobs_fts_ai")
    else:
        changes += ["ALTER TABLE users ALTER COLUMN password_hash SET NOT NULL",
                    "ALTER TABLE users ALTER COLUMN clerk_user_id TYPE TEXT",
                    "ALTER TABLE saved_jobs DROP CONSTRAINT saved_jobs_user_id_fkey",
                    "ALTER TABLE users DROP CONSTRAINT users_email_key",
                    "ALTER TABLE jobs ADD CONSTRAINT salary_positive CHECK (salary_min >= 0)"]
    differences = shape_differences(expected, migrated(database_url, "head", *changes))

    assert "extra table notes" in differences
    assert "extra index users.ix_users_email_created (email, created_at) unique" in differences
    if sqlite:
        assert any(d.startswith("missing trigger jobs_fts_ai CREATE TRIGGER jobs_fts_ai "
                                "AFTER INSERT ON jobs") for d in differences)
        return
    assert set(differences) >= {
        "column users.password_hash: nullable expected True, live False",
        "column users.clerk_user_id: type expected VARCHAR(200), live TEXT",
        'missing foreign key on saved_jobs: saved_jobs_user_id_fkey (user_id) → users(id) '
        '{"ondelete": "CASCADE"}',
        "missing unique constraint on users: users_email_key (email)",
        "extra check constraint on jobs: salary_positive CHECK (salary_min >= 0)",
    }


def test_same_revision_twice_has_no_differences(database_url: str, second_url: str) -> None:
    assert shape_differences(migrated(second_url, "head"), migrated(database_url, "head")) == []


def test_each_downgrade_returns_exactly_the_schema_before_its_migration(
        database_url: str) -> None:
    engine = make_engine(parse_database_url(database_url))
    try:
        for step in schema.history():
            before = schema_shape(engine)
            schema.upgrade(engine, step["revision"])
            schema.downgrade(engine, step["down_revision"] or "base")
            assert shape_differences(before, schema_shape(engine)) == [], step["revision"]
            schema.upgrade(engine, step["revision"])
    finally:
        engine.dispose()
