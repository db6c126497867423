"""Real databases for tests: a fresh PostgreSQL database or SQLite file per use.

PostgreSQL comes from JOBNAUT_TEST_PG_URL, else the server on 127.0.0.1:5432, else a
private cluster started with initdb/pg_ctl; a test that needs it is skipped (with the
reason printed) only when none of these works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from tests.support.processes import free_port

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


class PostgresServer:
    """Finds or starts a PostgreSQL server; `admin_url` is None when there is none."""

    def __init__(self) -> None:
        self.admin_url: str | None = None
        self.reason = ""
        self._private: Path | None = None
        self._pg_ctl: str | None = None

    def start(self) -> None:
        url = os.environ.get("JOBNAUT_TEST_PG_URL", DEFAULT_PG)
        if _reachable(url):
            self.admin_url = url
            return
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not (initdb and pg_ctl):
            self.reason = f"no PostgreSQL at {url} and no initdb/pg_ctl to start one"
            return
        data = Path(tempfile.mkdtemp(prefix="jobnaut-pg-"))
        port = free_port()
        user = ["-U", "postgres"]
        try:
            subprocess.run([initdb, "-D", str(data / "data"), "-A", "trust", *user],
                           check=True, capture_output=True)
            subprocess.run([pg_ctl, "-D", str(data / "data"), "-l", str(data / "log"), "-w",
                            "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start"],
                           check=True, capture_output=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            self.reason = f"could not start a private PostgreSQL cluster: {exc}"
            return
        self._private, self._pg_ctl = data, pg_ctl
        self.admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def stop(self) -> None:
        if self._private and self._pg_ctl:
            subprocess.run([self._pg_ctl, "-D", str(self._private / "data"), "-m", "fast",
                            "stop"], capture_output=True)
            shutil.rmtree(self._private, ignore_errors=True)

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new empty database, dropped afterwards; yields its URL."""
        assert self.admin_url
        name = f"jobnaut_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(self.admin_url).set(database=name).render_as_string(False)
        finally:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_url(directory: Path, name: str = "jobnaut.db") -> str:
    return f"sqlite:///{directory / name}"


def jobs_tables_analysed(database_url: str) -> bool:
    """Whether the jobs tables have planner statistics from an explicit ANALYZE (on
    PostgreSQL: a VACUUM and an ANALYZE by hand, not by autovacuum)."""
    from sqlalchemy import text

    from jobnaut.app.db import engine_for

    with engine_for(database_url) as engine, engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            rows = conn.execute(text(
                "SELECT relname FROM pg_stat_user_tables WHERE relname IN ('jobs', 'job_skills')"
                " AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL")).all()
            return len(rows) == 2
        if not conn.execute(text(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
            return False
        tables = set(conn.scalars(text("SELECT DISTINCT tbl FROM sqlite_stat1")))
        return {"jobs", "job_skills"} <= tables
