"""Whether a schema change is one the release serving now can live with (ADR 0004).

A deploy migrates while the previous release still serves, and a failed deploy gives the
traffic back to it. That is only safe when every pending migration *expands* the schema:
new tables, new nullable (or defaulted) columns, new plain indexes, data backfills. A
migration that *contracts* it — drops, renames, changes a type, tightens a constraint —
breaks the old code, so it runs in a maintenance window (or is split across two releases:
expand now, contract once no running code needs the old shape).

The pending upgrade SQL is rendered offline by the new release's own code and read
statement by statement, as the downgrade planner does (`ops.migrations`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from jobnaut.ops import commands, runner
from jobnaut.ops.migrations import statements

_CONTRACTING = (
    (re.compile(r"^DROP TABLE\b", re.I), "drops a table"),
    (re.compile(r"^ALTER TABLE .* DROP (?:COLUMN|CONSTRAINT)\b", re.I),
     "drops a column or constraint"),
    (re.compile(r"^ALTER TABLE .* RENAME\b", re.I), "renames"),
    (re.compile(r"^ALTER TABLE .* (?:SET DATA )?TYPE\b", re.I), "changes a column type"),
    (re.compile(r"^ALTER TABLE .* SET NOT NULL\b", re.I), "makes a column required"),
    (re.compile(r"^ALTER TABLE .* ADD (?:CONSTRAINT\b|CHECK\b|UNIQUE\b|FOREIGN KEY\b)", re.I),
     "adds a constraint"),
    (re.compile(r"^CREATE UNIQUE INDEX\b", re.I), "adds a unique index"),
    (re.compile(r"^DROP (?:VIEW|FUNCTION|TYPE|SEQUENCE)\b", re.I), "drops an object"),
)
_ADD_REQUIRED_COLUMN = re.compile(r"^ALTER TABLE .* ADD COLUMN .* NOT NULL\b", re.I)


@dataclass(frozen=True)
class Contraction:
    revision: str
    statement: str
    why: str

    def describe(self) -> str:
        short = self.statement if len(self.statement) < 100 else self.statement[:97] + "…"
        return f"{self.revision} {self.why}: {short}"


def contractions(revision: str, sql: str) -> list[Contraction]:
    """The statements of one migration that the previous release's code cannot live with."""
    found = []
    for statement in statements(sql):
        if _ADD_REQUIRED_COLUMN.match(statement) and " DEFAULT " not in statement.upper():
            found.append(Contraction(revision, statement, "adds a required column"))
            continue
        for pattern, why in _CONTRACTING:
            if pattern.match(statement):
                found.append(Contraction(revision, statement, why))
                break
    return found


def pending_contractions(build_dir: Path, env: dict[str, str],
                         from_revision: str | None) -> tuple[list[str], list[Contraction]]:
    """The revisions `build_dir`'s code would apply after `from_revision`, and what in them
    contracts the schema."""
    from jobnaut.ops.actions.release_env import secret_values

    out = runner.run(commands.jobnaut_in(build_dir, "schema", "plan-up", "--from",
                                         from_revision or "base"),
                     env=env, secrets=secret_values(env), timeout=300)
    steps = json.loads(out.strip().splitlines()[-1])
    found = [c for step in steps for c in contractions(step["revision"], step["sql"])]
    return [step["revision"] for step in steps], found
