"""The ledger: a SQLite database in the home recording releases, operations, their steps,
the service processes and a timeline of events.

It is written before and after every step (each write its own transaction), so that an
operation killed at any point can be explained and resumed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobnaut.ops.environment import SERVICES

SCHEMA = """
CREATE TABLE IF NOT EXISTS configs (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
    id INTEGER PRIMARY KEY,
    ref TEXT NOT NULL,
    requested_ref TEXT NOT NULL,
    kind TEXT NOT NULL,
    config_id INTEGER NOT NULL REFERENCES configs(id),
    schema_revision TEXT,
    backup_id TEXT,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at TEXT NOT NULL,
    activated_at TEXT,
    operation_id INTEGER
);
CREATE TABLE IF NOT EXISTS operations (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL,
    pid INTEGER NOT NULL,
    context TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS steps (
    operation_id INTEGER NOT NULL REFERENCES operations(id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT,
    started_at TEXT,
    finished_at TEXT,
    PRIMARY KEY (operation_id, position)
);
CREATE TABLE IF NOT EXISTS processes (
    id INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL,
    service TEXT NOT NULL,
    pid INTEGER NOT NULL,
    port INTEGER NOT NULL,
    role TEXT NOT NULL,
    log TEXT NOT NULL,
    started_at TEXT NOT NULL,
    stopped_at TEXT,
    start_ticks INTEGER,
    warm_until TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    operation_id INTEGER,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS activations (
    id INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases(id),
    service TEXT NOT NULL,
    operation_id INTEGER,
    operation_kind TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE TABLE IF NOT EXISTS traffic_samples (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    service TEXT NOT NULL,
    release TEXT NOT NULL,
    seconds REAL NOT NULL,
    requests INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    p50 REAL,
    p95 REAL,
    p99 REAL,
    phase TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """One transaction on the ledger database (also used by the stores that extend it)."""
    db = sqlite3.connect(path, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        with db:
            yield db
    finally:
        db.close()


class SqliteStore:
    """A store that extends the ledger's database with tables of its own, created on open
    (the comms outbox, the drills)."""

    schema = ""

    def __init__(self, path: Path):
        self.path = path
        with self._connect() as db:
            db.executescript(self.schema)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect(self.path)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Release:
    id: int
    ref: str
    requested_ref: str
    kind: str
    config_id: int
    schema_revision: str | None
    backup_id: str | None
    status: str
    reason: str
    actor: str
    created_at: str
    activated_at: str | None
    operation_id: int | None = None  # the operation that created it

    @property
    def name(self) -> str:
        return f"v{self.id}"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.name, "number": self.id, "ref": self.ref,
            "requested_ref": self.requested_ref, "kind": self.kind, "status": self.status,
            "schema_revision": self.schema_revision, "backup_id": self.backup_id,
            "created_at": self.created_at, "activated_at": self.activated_at,
            "reason": self.reason, "actor": self.actor,
        }


RETIRING = "retiring"  # the role of a process a deploy's retire chose to stop (ADR 0019)


@dataclass(frozen=True)
class ProcessRecord:
    id: int
    release_id: int
    service: str
    pid: int
    port: int
    role: str  # live | warm | candidate | rolled_back (warm until `warm_until`, ADR 0018)
    #            | retiring (a deploy's retire chose it; it drains during the verify)
    log: str
    started_at: str
    start_ticks: int | None = None
    warm_until: str | None = None  # a rolled-back release's process: stopped after this time


@dataclass(frozen=True)
class Activation:
    """A release taking a service's traffic; `ended_at` is set when another one took it."""

    id: int
    release_id: int
    service: str
    operation_id: int | None
    operation_kind: str | None
    started_at: str
    ended_at: str | None


@dataclass(frozen=True)
class OperationRecord:
    id: int
    kind: str
    args: dict[str, Any]
    status: str  # running | succeeded | failed | interrupted
    pid: int
    context: dict[str, Any]
    error: str | None
    started_at: str
    finished_at: str | None


class Ledger:
    def __init__(self, path: Path):
        self.path = path
        with self._connect() as db:
            db.executescript(SCHEMA)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(processes)")}
            if "start_ticks" not in columns:  # a ledger written before this column existed
                db.execute("ALTER TABLE processes ADD COLUMN start_ticks INTEGER")
            if "warm_until" not in columns:
                db.execute("ALTER TABLE processes ADD COLUMN warm_until TEXT")
            columns = {row["name"] for row in db.execute("PRAGMA table_info(releases)")}
            if "operation_id" not in columns:
                db.execute("ALTER TABLE releases ADD COLUMN operation_id INTEGER")
            _backfill_activations(db)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect(self.path)

    # configuration snapshots -------------------------------------------------------
    def add_config(self, sealed: bytes) -> int:
        with self._connect() as db:
            cur = db.execute("INSERT INTO configs (created_at, sealed) VALUES (?, ?)",
                             (now(), sealed))
            return int(cur.lastrowid or 0)

    def config(self, config_id: int) -> bytes:
        with self._connect() as db:
            row = db.execute("SELECT sealed FROM configs WHERE id = ?", (config_id,)).fetchone()
        if row is None:
            raise KeyError(config_id)
        return bytes(row["sealed"])

    # releases ------------------------------------------------------------------------
    def add_release(self, *, ref: str, requested_ref: str, kind: str, config_id: int,
                    schema_revision: str | None, reason: str, actor: str,
                    operation_id: int) -> Release:
        """Record the release `operation_id` makes — once: an operation killed after the
        insert and resumed gets the same release back, never a second one."""
        made = self.release_of_operation(operation_id)
        if made is not None:
            return made
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO releases (ref, requested_ref, kind, config_id, schema_revision,"
                " status, reason, actor, created_at, operation_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (ref, requested_ref, kind, config_id, schema_revision, "pending", reason, actor,
                 now(), operation_id),
            )
            release_id = int(cur.lastrowid or 0)
        return self.release(release_id)

    def release_of_operation(self, operation_id: int) -> Release | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM releases WHERE operation_id = ?",
                             (operation_id,)).fetchone()
        return None if row is None else Release(**dict(row))

    def release(self, release_id: int) -> Release:
        with self._connect() as db:
            row = db.execute("SELECT * FROM releases WHERE id = ?", (release_id,)).fetchone()
        if row is None:
            raise KeyError(release_id)
        return Release(**dict(row))

    def releases(self) -> list[Release]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM releases ORDER BY id").fetchall()
        return [Release(**dict(r)) for r in rows]

    def update_release(self, release_id: int, **fields: Any) -> None:
        assignments = ", ".join(f"{k} = ?" for k in fields)
        with self._connect() as db:
            db.execute(f"UPDATE releases SET {assignments} WHERE id = ?",
                       (*fields.values(), release_id))

    def active_release(self) -> Release | None:
        value = self.get_state("active_release")
        return self.release(int(value)) if value else None

    def set_active_release(self, release_id: int, *, operation_id: int | None = None,
                           operation_kind: str | None = None) -> None:
        """Mark one release active and serving every service; the one it replaces becomes
        `superseded` (unless it was already marked otherwise), and the switch is recorded in
        the activation history that rollback targets are chosen from."""
        previous = self.get_state("active_release")
        at = now()
        with self._connect() as db:
            if previous and int(previous) != release_id:
                db.execute("UPDATE releases SET status = 'superseded' WHERE id = ? "
                           "AND status = 'active'", (int(previous),))
            db.execute("UPDATE releases SET status = 'active', activated_at = ? WHERE id = ?",
                       (at, release_id))
            db.execute("INSERT INTO state (key, value) VALUES ('active_release', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(release_id),))
            for service in SERVICES:
                _activate(db, service, release_id, operation_id, operation_kind, at)

    def set_service_release(self, service: str, release_id: int, *,
                            operation_id: int | None = None,
                            operation_kind: str | None = None) -> None:
        """One service switched on its own (a backend-only rollback): recorded so that
        `up` after `down` starts that service on the same release."""
        with self._connect() as db:
            _activate(db, service, release_id, operation_id, operation_kind, now())

    def serving_release_id(self, service: str) -> int | None:
        """The release that last took `service`'s traffic (its open activation)."""
        with self._connect() as db:
            row = db.execute("SELECT release_id FROM activations WHERE service = ? AND "
                             "ended_at IS NULL ORDER BY id DESC LIMIT 1", (service,)).fetchone()
        return None if row is None else int(row["release_id"])

    def activations(self, service: str | None = None) -> list[Activation]:
        """Activation history, oldest first."""
        with self._connect() as db:
            if service is None:
                rows = db.execute("SELECT * FROM activations ORDER BY id").fetchall()
            else:
                rows = db.execute("SELECT * FROM activations WHERE service = ? ORDER BY id",
                                  (service,)).fetchall()
        return [Activation(**dict(r)) for r in rows]

    # state ---------------------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_state(self, key: str, value: str | None) -> None:
        with self._connect() as db:
            if value is None:
                db.execute("DELETE FROM state WHERE key = ?", (key,))
            else:
                db.execute("INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) "
                           "DO UPDATE SET value = excluded.value", (key, value))

    def rollback_verdict(self, release_id: int) -> dict[str, Any] | None:
        """Whether the release was proven able to roll back (see `migrate check`)."""
        raw = self.get_state(f"rollback_ready:{release_id}")
        return None if raw is None else dict(json.loads(raw))

    def set_rollback_verdict(self, release_id: int, verdict: dict[str, Any]) -> None:
        self.set_state(f"rollback_ready:{release_id}", json.dumps(verdict))

    # operations and steps ------------------------------------------------------------
    def start_operation(self, kind: str, args: dict[str, Any], pid: int) -> int:
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO operations (kind, args, status, pid, started_at) "
                "VALUES (?, ?, 'running', ?, ?)", (kind, json.dumps(args), pid, now()))
            return int(cur.lastrowid or 0)

    def operation(self, operation_id: int) -> OperationRecord:
        with self._connect() as db:
            row = db.execute("SELECT * FROM operations WHERE id = ?",
                             (operation_id,)).fetchone()
        if row is None:
            raise KeyError(operation_id)
        return _operation(row)

    def operations(self, limit: int = 20) -> list[OperationRecord]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM operations ORDER BY id DESC LIMIT ?",
                              (limit,)).fetchall()
        return [_operation(r) for r in rows]

    def update_operation(self, operation_id: int, **fields: Any) -> None:
        if "context" in fields:
            fields["context"] = json.dumps(fields["context"])
        if fields.get("status") in ("succeeded", "failed", "interrupted"):
            fields.setdefault("finished_at", now())
        assignments = ", ".join(f"{k} = ?" for k in fields)
        with self._connect() as db:
            db.execute(f"UPDATE operations SET {assignments} WHERE id = ?",
                       (*fields.values(), operation_id))

    def step_started(self, operation_id: int, position: int, name: str) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO steps (operation_id, position, name, status, started_at) "
                "VALUES (?, ?, ?, 'running', ?) ON CONFLICT(operation_id, position) DO UPDATE "
                "SET status = 'running', started_at = excluded.started_at, detail = NULL",
                (operation_id, position, name, now()))

    def step_finished(self, operation_id: int, position: int, status: str,
                      detail: str | None) -> None:
        with self._connect() as db:
            db.execute("UPDATE steps SET status = ?, detail = ?, finished_at = ? "
                       "WHERE operation_id = ? AND position = ?",
                       (status, detail, now(), operation_id, position))

    def steps(self, operation_id: int) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM steps WHERE operation_id = ? ORDER BY position",
                              (operation_id,)).fetchall()
        return [dict(r) for r in rows]

    # processes -----------------------------------------------------------------------
    def add_process(self, *, release_id: int, service: str, pid: int, port: int, role: str,
                    log: str, start_ticks: int | None = None) -> int:
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO processes (release_id, service, pid, port, role, log, started_at, "
                "start_ticks) VALUES (?,?,?,?,?,?,?,?)",
                (release_id, service, pid, port, role, log, now(), start_ticks))
            return int(cur.lastrowid or 0)

    def process(self, process_id: int) -> ProcessRecord:
        with self._connect() as db:
            row = db.execute("SELECT id, release_id, service, pid, port, role, log, started_at, "
                             "start_ticks, warm_until FROM processes WHERE id = ?",
                             (process_id,)).fetchone()
        return ProcessRecord(**dict(row))

    def running_processes(self, role: str | None = None) -> list[ProcessRecord]:
        """The processes not recorded as stopped, oldest first; with `role`, only those."""
        with self._connect() as db:
            rows = db.execute("SELECT id, release_id, service, pid, port, role, log, started_at, "
                              "start_ticks, warm_until FROM processes WHERE stopped_at IS NULL "
                              "AND role = coalesce(?, role) ORDER BY id", (role,)).fetchall()
        return [ProcessRecord(**dict(r)) for r in rows]

    def set_process_role(self, process_id: int, role: str, warm_until: str | None = None) -> None:
        """A new role; `warm_until` only for a rolled-back release's process kept warm."""
        with self._connect() as db:
            db.execute("UPDATE processes SET role = ?, warm_until = ? WHERE id = ?",
                       (role, warm_until, process_id))

    def process_stopped(self, process_id: int) -> None:
        with self._connect() as db:
            db.execute("UPDATE processes SET stopped_at = ? WHERE id = ?", (now(), process_id))

    # timeline ------------------------------------------------------------------------
    def event(self, message: str, *, level: str = "info", operation_id: int | None = None) -> None:
        with self._connect() as db:
            db.execute("INSERT INTO events (at, operation_id, level, message) VALUES (?,?,?,?)",
                       (now(), operation_id, level, message))

    def events(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM events ORDER BY id DESC LIMIT ?",
                              (limit,)).fetchall()
        return [dict(r) for r in reversed(rows)]


    # traffic samples (written by the guard) ----------------------------------------------
    def add_traffic_samples(self, samples: list[dict[str, Any]]) -> None:
        """Figures of each (service, release) over the last `seconds`, taken at one time."""
        at = now()
        with self._connect() as db:
            db.executemany(
                "INSERT INTO traffic_samples (at, service, release, seconds, requests, errors, "
                "p50, p95, p99, phase) VALUES (:at, :service, :release, :seconds, :requests, "
                ":errors, :p50, :p95, :p99, :phase)", [{"at": at, **s} for s in samples])

    def traffic_samples(self, limit: int = 500) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM traffic_samples ORDER BY id DESC LIMIT ?",
                              (limit,)).fetchall()
        return [dict(r) for r in reversed(rows)]


def _activate(db: sqlite3.Connection, service: str, release_id: int, operation_id: int | None,
              operation_kind: str | None, at: str) -> None:
    current = db.execute("SELECT id, release_id FROM activations WHERE service = ? AND "
                         "ended_at IS NULL ORDER BY id DESC LIMIT 1", (service,)).fetchone()
    if current is not None and current["release_id"] == release_id:
        return  # already serving: a resumed switch records nothing twice
    db.execute("UPDATE activations SET ended_at = ? WHERE service = ? AND ended_at IS NULL",
               (at, service))
    db.execute("INSERT INTO activations (release_id, service, operation_id, operation_kind, "
               "started_at) VALUES (?, ?, ?, ?, ?)",
               (release_id, service, operation_id, operation_kind, at))


def _backfill_activations(db: sqlite3.Connection) -> None:
    """A ledger written before activations were recorded: the best history it holds is each
    release's last activation time, in order; the active release's is left open."""
    if db.execute("SELECT 1 FROM activations LIMIT 1").fetchone() is not None:
        return
    rows = db.execute("SELECT id, activated_at FROM releases WHERE activated_at IS NOT NULL "
                      "ORDER BY activated_at").fetchall()
    for service in SERVICES:
        for row in rows:
            _activate(db, service, int(row["id"]), None, None, str(row["activated_at"]))


def _operation(row: sqlite3.Row) -> OperationRecord:
    data = dict(row)
    data["args"] = json.loads(data["args"])
    data["context"] = json.loads(data["context"] or "{}")
    return OperationRecord(**data)
