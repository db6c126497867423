"""What a schema downgrade would do, found before it runs: the SQL each step renders,
classified statement by statement, with the rows it would touch counted on the live
database. Also where the database stands against each release."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jobnaut.ops import commands, runner

_NAME = r'(?:"?\w+"?\.)?"?(\w+)"?'  # a table, optionally schema-qualified: public.jobs
_DROP_TABLE = re.compile(rf"^DROP TABLE (?:IF EXISTS )?{_NAME}", re.I)
_DROP_COLUMN = re.compile(rf'^ALTER TABLE (?:ONLY )?{_NAME} DROP COLUMN (?:IF EXISTS )?"?(\w+)"?',
                          re.I)
_ALTER_TYPE = re.compile(rf'^ALTER TABLE (?:ONLY )?{_NAME} ALTER COLUMN "?(\w+)"? '
                         r"(?:SET DATA )?TYPE", re.I)
_DELETE = re.compile(rf"^DELETE FROM {_NAME}", re.I)
_UPDATE = re.compile(rf"^UPDATE {_NAME} SET", re.I)
_TRUNCATE = re.compile(rf"^TRUNCATE (?:TABLE )?{_NAME}", re.I)


@dataclass
class Effect:
    statement: str
    kind: str  # drops table | drops column | changes column type | deletes rows | updates rows
    table: str
    column: str | None = None
    rows: int | None = None  # values or rows that hold data and would be lost or rewritten

    @property
    def destructive(self) -> bool:
        return bool(self.rows)

    def describe(self) -> str:
        target = f"{self.table}.{self.column}" if self.column else self.table
        held = "unknown rows" if self.rows is None else f"{self.rows} rows with data"
        return f"{self.kind} {target} ({held})"


@dataclass
class DowngradeStep:
    revision: str
    down_revision: str | None
    doc: str
    works: bool
    error: str | None
    effects: list[Effect] = field(default_factory=list)

    @property
    def destructive(self) -> bool:
        return any(e.destructive for e in self.effects)

    def as_json(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "effects"},
                "destructive": self.destructive,
                "effects": [{**asdict(e), "destructive": e.destructive} for e in self.effects]}


def statements(sql: str) -> list[str]:
    """The statements of rendered migration SQL, one line each, comments and the version
    table's bookkeeping left out."""
    found = []
    for raw in sql.split(";"):
        statement = " ".join(line.strip() for line in raw.strip().splitlines()
                             if not line.strip().startswith("--")).strip()
        if statement and "alembic_version" not in statement:
            found.append(statement)
    return found


def classify(sql: str) -> list[Effect]:
    effects = []
    for statement in statements(sql):
        for pattern, kind in ((_DROP_TABLE, "drops table"), (_DROP_COLUMN, "drops column"),
                              (_ALTER_TYPE, "changes column type"), (_DELETE, "deletes rows"),
                              (_UPDATE, "updates rows"), (_TRUNCATE, "deletes rows")):
            match = pattern.match(statement)
            if match:
                groups = match.groups()
                effects.append(Effect(statement, kind, groups[0],
                                      groups[1] if len(groups) > 1 else None))
                break
    return effects


def count_rows(effects: list[Effect], database_url: str) -> None:
    """Fill in how many rows each effect would lose or rewrite, from the live database."""
    from sqlalchemy import inspect, text

    from jobnaut.app.db import engine_for

    with engine_for(database_url) as engine:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        with engine.connect() as conn:
            for effect in effects:
                if effect.table not in tables:
                    effect.rows = 0
                    continue
                columns = {c["name"] for c in inspector.get_columns(effect.table)}
                if effect.column and effect.column in columns:
                    query = f'SELECT count("{effect.column}") FROM "{effect.table}"'
                else:
                    query = f'SELECT count(*) FROM "{effect.table}"'
                effect.rows = int(conn.execute(text(query)).scalar() or 0)


def plan_downgrade(build_dir: Path, env: dict[str, str], from_revision: str,
                   to_revision: str) -> list[DowngradeStep]:
    """Each step from `from_revision` down to `to_revision`, rendered by the code in
    `build_dir` (the release that introduced those migrations), classified and counted."""
    from jobnaut.ops.actions.release_env import secret_values

    out = runner.run(commands.jobnaut_in(build_dir, "schema", "plan-down", "--from",
                                         from_revision, "--to", to_revision),
                     env=env, secrets=secret_values(env), timeout=300)
    steps = []
    for item in json.loads(out.strip().splitlines()[-1]):
        effects = classify(item["sql"])
        works = item["error"] is None and "Running downgrade" in item["sql"]
        steps.append(DowngradeStep(item["revision"], item["down_revision"], item["doc"] or "",
                                   works, item["error"], effects))
    all_effects = [e for s in steps for e in s.effects]
    if all_effects:
        count_rows(all_effects, env["DATABASE_URL"])
    return steps


def history(build_dir: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    out = runner.run(commands.jobnaut_in(build_dir, "schema", "history"), env=env, timeout=120)
    result: list[dict[str, Any]] = json.loads(out.strip().splitlines()[-1])
    return result


def schema_shape_of(database_url: str) -> dict[str, Any]:
    """The database's whole schema as plain data (see `jobnaut.app.schema_shape`)."""
    from jobnaut.app.db import engine_for
    from jobnaut.app.schema_shape import schema_shape

    with engine_for(database_url) as engine:
        return schema_shape(engine)
