"""Database figures for the monitoring views (plan: "database performance"): how long a
real query takes, and on PostgreSQL the connections, lock waits and long-running
transactions of the application's database from `pg_stat_activity`.

A thread of the guard takes them every few seconds, so a slow or locked database never
delays the guard's traffic verdicts. The URL is read from the serving configuration each
time (a config release may move the database); errors name the problem, never the URL's
password."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, create_engine, text

from jobnaut.config import parse_database_url

LONG_TRANSACTION_SECONDS = 30
QUERY_TIMEOUT_MS = 3000

# One row: this database's sessions, those waiting for a lock, and transactions open for
# longer than LONG_TRANSACTION_SECONDS (idle ones excluded: a pooled idle connection is
# not a transaction).
ACTIVITY = text("""
SELECT count(*) AS connections,
       count(*) FILTER (WHERE wait_event_type = 'Lock') AS lock_waits,
       count(*) FILTER (WHERE state <> 'idle' AND xact_start IS NOT NULL
                        AND xact_start < now() - interval '1 second' * :long_seconds)
           AS long_transactions
FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
""")


class DatabaseWatch:
    def __init__(self, database_url: Callable[[], str], every: float):
        self._url = database_url
        self.every = every
        self.latest: dict[str, Any] | None = None
        self._engine: tuple[str, Engine] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="database")

    def start(self) -> DatabaseWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(QUERY_TIMEOUT_MS / 1000 + 2)
        if self._engine is not None:
            self._engine[1].dispose()

    def _run(self) -> None:
        while True:
            self.latest = self.sample()
            if self._stop.wait(self.every):
                return

    def sample(self) -> dict[str, Any]:
        url = ""
        try:
            url = self._url()
            return {**measure(self._engine_for(url)), "at": time.time()}
        except Exception as exc:
            return {"error": _safe_error(exc, url), "at": time.time()}

    def _engine_for(self, raw: str) -> Engine:
        if self._engine is None or self._engine[0] != raw:
            if self._engine is not None:
                self._engine[1].dispose()
            url = parse_database_url(raw)
            args: dict[str, Any] = (
                {"timeout": QUERY_TIMEOUT_MS / 1000} if url.get_backend_name() == "sqlite"
                else {"connect_timeout": 3,
                      "options": f"-c statement_timeout={QUERY_TIMEOUT_MS}"})
            self._engine = (raw, create_engine(url, pool_size=1, max_overflow=0,
                                               connect_args=args, hide_parameters=True))
        return self._engine[1]


def measure(engine: Engine, long_seconds: float = LONG_TRANSACTION_SECONDS) -> dict[str, Any]:
    """The time of a real query (the schema revision, as readiness reads it) and, on
    PostgreSQL, the activity figures."""
    figures: dict[str, Any] = {"kind": engine.dialect.name}
    with engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(text("SELECT version_num FROM alembic_version")).all()
        figures["query_ms"] = round((time.perf_counter() - started) * 1000, 2)
        if engine.dialect.name == "postgresql":
            row = conn.execute(ACTIVITY, {"long_seconds": long_seconds}).one()
            figures.update(connections=row.connections, lock_waits=row.lock_waits,
                           long_transactions=row.long_transactions)
    return figures


def _safe_error(exc: Exception, url: str) -> str:
    message = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
    try:
        password = parse_database_url(url).password if url else None
    except ValueError:
        password = None
    if password:
        message = message.replace(str(password), "***")
    return f"{type(exc).__name__}: {message}"


def prometheus(figures: dict[str, Any] | None) -> str:
    if not figures or figures.get("error"):
        return ("# TYPE jobnaut_database_up gauge\n"
                f"jobnaut_database_up {0 if figures else 'NaN'}\n")
    lines = ["# TYPE jobnaut_database_up gauge", "jobnaut_database_up 1",
             "# HELP jobnaut_database_query_seconds Time of a real query, by the guard.",
             "# TYPE jobnaut_database_query_seconds gauge",
             f"jobnaut_database_query_seconds {figures['query_ms'] / 1000:.6f}"]
    for key in ("connections", "lock_waits", "long_transactions"):
        if figures.get(key) is not None:
            lines += [f"# TYPE jobnaut_database_{key} gauge",
                      f"jobnaut_database_{key} {figures[key]}"]
    return "\n".join(lines) + "\n"
