"""Where drills are recorded: a `drills` table in the environment's ledger database, beside
the timeline and the operations each drill ran (like the comms tables)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from jobnaut.ops.ledger import SqliteStore, now

SCHEMA = """
CREATE TABLE IF NOT EXISTS drills (
    id INTEGER PRIMARY KEY,
    scenario TEXT NOT NULL,
    status TEXT NOT NULL,            -- running | passed | failed | error
    started_at TEXT NOT NULL,
    finished_at TEXT,
    metrics TEXT NOT NULL DEFAULT '{}',   -- JSON: detect, mttr, failed requests, rpo, rto…
    verdicts TEXT NOT NULL DEFAULT '[]',  -- JSON: each target, its limit, value, pass
    phases TEXT NOT NULL DEFAULT '[]',    -- JSON: what the drill did, with times
    samples TEXT NOT NULL DEFAULT '[]',   -- JSON: every load request [at, op, ok, status, s]
    error TEXT
);
"""


@dataclass(frozen=True)
class DrillRecord:
    id: int
    scenario: str
    status: str
    started_at: str
    finished_at: str | None
    metrics: dict[str, Any]
    verdicts: list[dict[str, Any]]
    phases: list[dict[str, Any]]
    samples: list[list[Any]]
    error: str | None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "scenario": self.scenario, "status": self.status,
                "started_at": self.started_at, "finished_at": self.finished_at,
                "metrics": self.metrics, "verdicts": self.verdicts, "error": self.error}


class DrillStore(SqliteStore):
    schema = SCHEMA

    def start(self, scenario: str) -> int:
        with self._connect() as db:
            cur = db.execute("INSERT INTO drills (scenario, status, started_at) "
                             "VALUES (?, 'running', ?)", (scenario, now()))
            return int(cur.lastrowid or 0)

    def finish(self, drill_id: int, *, status: str, metrics: dict[str, Any],
               verdicts: list[dict[str, Any]], phases: list[dict[str, Any]],
               samples: list[list[Any]], error: str | None) -> None:
        with self._connect() as db:
            db.execute("UPDATE drills SET status = ?, finished_at = ?, metrics = ?, "
                       "verdicts = ?, phases = ?, samples = ?, error = ? WHERE id = ?",
                       (status, now(), json.dumps(metrics), json.dumps(verdicts),
                        json.dumps(phases), json.dumps(samples), error, drill_id))

    def get(self, drill_id: int) -> DrillRecord:
        with self._connect() as db:
            row = db.execute("SELECT * FROM drills WHERE id = ?", (drill_id,)).fetchone()
        if row is None:
            raise KeyError(drill_id)
        return _record(row)

    def all(self) -> list[DrillRecord]:
        """Every drill, oldest first."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM drills ORDER BY id").fetchall()
        return [_record(r) for r in rows]


def _record(row: sqlite3.Row) -> DrillRecord:
    return DrillRecord(id=row["id"], scenario=row["scenario"], status=row["status"],
                       started_at=row["started_at"], finished_at=row["finished_at"],
                       metrics=json.loads(row["metrics"]), verdicts=json.loads(row["verdicts"]),
                       phases=json.loads(row["phases"]), samples=json.loads(row["samples"]),
                       error=row["error"])
