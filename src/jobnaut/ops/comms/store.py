"""Where communication is recorded: incidents and their updates, notification channels
(sealed), the outbox of notices with each delivery attempt, and scheduled maintenance.

The tables live in the environment's ledger database, beside the timeline they extend, so
that one file holds the whole record of an incident; each write is its own transaction.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from jobnaut.ops.ledger import SqliteStore, now

# The title mark of an incident opened during a drill (ops/comms/incidents.py).
DRILL_PREFIX = "[drill] "


SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,              -- incident | maintenance
    state TEXT NOT NULL,
    impact TEXT NOT NULL,
    components TEXT NOT NULL,        -- JSON list
    eta TEXT,
    next_update_due TEXT,
    opened_at TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    escalated_at TEXT,
    nudged_at TEXT,
    resolved_at TEXT,
    root_cause TEXT,
    operation_id INTEGER
);
CREATE TABLE IF NOT EXISTS incident_updates (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    at TEXT NOT NULL,
    state TEXT NOT NULL,
    impact TEXT NOT NULL,
    message TEXT NOT NULL,
    eta TEXT,
    author TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS channels (
    name TEXT PRIMARY KEY,
    audience TEXT NOT NULL,
    kind TEXT NOT NULL,              -- the URL scheme: mailto, json, slack, ...
    sealed BLOB NOT NULL,            -- the Apprise URL, encrypted with the home's key
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER,
    channel TEXT NOT NULL,
    audience TEXT NOT NULL,
    recipients TEXT,                 -- e-mail addresses, for the contacts' mailer
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,            -- pending | sent | failed (gave up)
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    sent_at TEXT
);
CREATE TABLE IF NOT EXISTS maintenance_windows (
    id INTEGER PRIMARY KEY,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    message TEXT NOT NULL,
    components TEXT NOT NULL,
    created_at TEXT NOT NULL,
    cancelled_at TEXT
);
"""


@dataclass(frozen=True)
class Incident:
    id: int
    title: str
    kind: str
    state: str
    impact: str
    components: tuple[str, ...]
    eta: str | None
    next_update_due: str | None
    opened_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    escalated_at: str | None
    nudged_at: str | None
    resolved_at: str | None
    root_cause: str | None
    operation_id: int | None

    @property
    def open(self) -> bool:
        return self.resolved_at is None

    def as_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["components"] = list(self.components)
        return data


@dataclass(frozen=True)
class Notice:
    id: int
    incident_id: int | None
    channel: str
    audience: str
    recipients: str | None
    subject: str
    body: str
    created_at: str
    status: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    sent_at: str | None


class CommsStore(SqliteStore):
    schema = SCHEMA

    # incidents -----------------------------------------------------------------------
    def add_incident(self, *, title: str, kind: str, state: str, impact: str,
                     components: list[str], eta: str | None, next_update_due: str | None,
                     operation_id: int | None) -> int:
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO incidents (title, kind, state, impact, components, eta, "
                "next_update_due, opened_at, operation_id) VALUES (?,?,?,?,?,?,?,?,?)",
                (title, kind, state, impact, json.dumps(components), eta, next_update_due,
                 now(), operation_id))
            return int(cur.lastrowid or 0)

    def incident(self, incident_id: int) -> Incident:
        with self._connect() as db:
            row = db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        if row is None:
            raise KeyError(incident_id)
        return _incident(row)

    def incidents(self, *, open_only: bool = False, limit: int = 50) -> list[Incident]:
        where = "WHERE resolved_at IS NULL" if open_only else ""
        with self._connect() as db:
            rows = db.execute(f"SELECT * FROM incidents {where} ORDER BY id DESC LIMIT ?",
                              (limit,)).fetchall()
        return [_incident(r) for r in rows]

    def update_incident(self, incident_id: int, **fields: Any) -> None:
        if "components" in fields:
            fields["components"] = json.dumps(fields["components"])
        assignments = ", ".join(f"{key} = ?" for key in fields)
        with self._connect() as db:
            db.execute(f"UPDATE incidents SET {assignments} WHERE id = ?",
                       (*fields.values(), incident_id))

    def add_update(self, incident_id: int, *, state: str, impact: str, message: str,
                   eta: str | None, author: str) -> None:
        with self._connect() as db:
            db.execute("INSERT INTO incident_updates (incident_id, at, state, impact, message, "
                       "eta, author) VALUES (?,?,?,?,?,?,?)",
                       (incident_id, now(), state, impact, message, eta, author))

    def updates(self, incident_id: int | None = None) -> list[dict[str, Any]]:
        with self._connect() as db:
            if incident_id is None:
                rows = db.execute("SELECT * FROM incident_updates ORDER BY id").fetchall()
            else:
                rows = db.execute("SELECT * FROM incident_updates WHERE incident_id = ? "
                                  "ORDER BY id", (incident_id,)).fetchall()
        return [dict(r) for r in rows]

    # channels ------------------------------------------------------------------------
    def add_channel(self, name: str, audience: str, kind: str, sealed: bytes) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO channels (name, audience, kind, sealed, added_at) "
                       "VALUES (?,?,?,?,?)", (name, audience, kind, sealed, now()))

    def remove_channel(self, name: str) -> bool:
        with self._connect() as db:
            return db.execute("DELETE FROM channels WHERE name = ?", (name,)).rowcount > 0

    def channels(self) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM channels ORDER BY name").fetchall()
        return [dict(r) for r in rows]

    # the outbox ----------------------------------------------------------------------
    def enqueue(self, *, incident_id: int | None, channel: str, audience: str, subject: str,
                body: str, recipients: str | None = None) -> int:
        with self._connect() as db:
            at = now()
            cur = db.execute(
                "INSERT INTO notices (incident_id, channel, audience, recipients, subject, body, "
                "created_at, status, next_attempt_at) VALUES (?,?,?,?,?,?,?,'pending',?)",
                (incident_id, channel, audience, recipients, subject, body, at, at))
            return int(cur.lastrowid or 0)

    def due_notices(self, at: str) -> list[Notice]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM notices WHERE status = 'pending' AND "
                              "next_attempt_at <= ? ORDER BY id", (at,)).fetchall()
        return [Notice(**dict(r)) for r in rows]

    def notices(self, *, incident_id: int | None = None, limit: int = 200) -> list[Notice]:
        with self._connect() as db:
            if incident_id is None:
                rows = db.execute("SELECT * FROM notices ORDER BY id DESC LIMIT ?",
                                  (limit,)).fetchall()
            else:
                rows = db.execute("SELECT * FROM notices WHERE incident_id = ? ORDER BY id",
                                  (incident_id,)).fetchall()
        return [Notice(**dict(r)) for r in rows]

    def record_attempt(self, notice_id: int, *, status: str, error: str | None,
                       next_attempt_at: str | None) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE notices SET attempts = attempts + 1, status = ?, last_error = ?, "
                "next_attempt_at = COALESCE(?, next_attempt_at), "
                "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
                (status, error, next_attempt_at, status, now(), notice_id))

    def first_event_at(self) -> str | None:
        """When the environment's timeline starts (the ledger's first event)."""
        with self._connect() as db:
            row = db.execute("SELECT at FROM events ORDER BY id LIMIT 1").fetchone()
        return str(row["at"]) if row else None

    # maintenance windows -------------------------------------------------------------
    def add_maintenance(self, starts_at: str, ends_at: str, message: str,
                        components: list[str]) -> int:
        with self._connect() as db:
            cur = db.execute("INSERT INTO maintenance_windows (starts_at, ends_at, message, "
                             "components, created_at) VALUES (?,?,?,?,?)",
                             (starts_at, ends_at, message, json.dumps(components), now()))
            return int(cur.lastrowid or 0)

    def maintenance_windows(self) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM maintenance_windows WHERE cancelled_at IS NULL "
                              "ORDER BY starts_at").fetchall()
        return [{**dict(r), "components": json.loads(r["components"])} for r in rows]


def _incident(row: sqlite3.Row) -> Incident:
    data = dict(row)
    data["components"] = tuple(json.loads(data["components"]))
    return Incident(**data)


def is_drill(incident: Incident) -> bool:
    return incident.title.startswith(DRILL_PREFIX)
