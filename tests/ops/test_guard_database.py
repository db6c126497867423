"""The guard's database figures on a real PostgreSQL: the timed query, connections, a lock
wait while another session holds a lock (as during a migration rollback), a long
transaction; and a database that is unreachable is a figure with a clear error that never
shows the password."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest

from jobnaut.ops.guard.database import DatabaseWatch, measure
from tests.support.databases import PostgresServer
from tests.support.inbox import wait_for


@pytest.fixture()
def database(postgres: PostgresServer) -> Iterator[str]:
    if postgres.admin_url is None:
        pytest.skip(f"PostgreSQL unavailable: {postgres.reason}")
    with postgres.database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE alembic_version (version_num varchar(32) NOT NULL)")
            conn.execute("INSERT INTO alembic_version VALUES ('0003')")
            conn.execute("CREATE TABLE jobs (id int PRIMARY KEY)")
        yield url


def test_lock_waits_and_long_transactions_are_seen(database: str) -> None:
    watch = DatabaseWatch(lambda: database, every=60)
    engine = watch._engine_for(database)
    quiet = measure(engine)
    assert quiet["kind"] == "postgresql" and quiet["query_ms"] >= 0
    assert (quiet["lock_waits"], quiet["long_transactions"]) == (0, 0)
    with psycopg.connect(database) as holder:
        holder.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")  # a migration's lock
        # Another session (a process of its own, as a backend is) waits for that lock.
        waiter = subprocess.Popen([sys.executable, "-c",
                                   "import psycopg, sys\n"
                                   "psycopg.connect(sys.argv[1]).execute("
                                   "'SELECT count(*) FROM jobs')", database])
        try:
            wait_for(lambda: measure(engine)["lock_waits"] == 1, 10, "the lock wait to show")
            # The holder's transaction is "long" once 0.2 s old: on quiet cores the waiter
            # can be seen sooner than that.
            wait_for(lambda: measure(engine, long_seconds=0.2)["long_transactions"] >= 1, 10,
                     "the holder's transaction to count as long")
            figures = measure(engine, long_seconds=0.2)
            assert figures["connections"] >= 2 and figures["lock_waits"] == 1
        finally:
            holder.rollback()
            assert waiter.wait(10) == 0
    assert measure(engine)["lock_waits"] == 0
    watch.stop()


def test_an_unreachable_database_is_an_error_figure_without_the_password() -> None:
    url = "postgresql://jobnaut:s3cret-pw@127.0.0.1:1/jobnaut"
    figures = DatabaseWatch(lambda: url, every=60).sample()
    assert figures["error"].startswith("OperationalError")
    assert "s3cret-pw" not in figures["error"]
    assert "kind" not in figures  # no figures that look measured
