"""What changed between two backups, row by row: what a restore of the older one would
discard, and the rows to put back by hand afterwards."""

from __future__ import annotations

import base64
import csv
import json
import re
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from jobnaut.ops.backups import core, store
from jobnaut.ops.environment import Home
from jobnaut.ops.errors import OpsError

Row = dict[str, Any]
KINDS = ("inserted", "updated", "deleted")


@dataclass
class TableDiff:
    """Rows of one table in the newer backup relative to the older one. Rows are matched by
    primary key; a table without one is compared as a multiset of rows (so it has no
    updates). The columns both backups have are compared, and those only the newer one has
    (they read as null in the older one): a row holding a value in such a column would lose
    it to a restore of the older backup, so it counts as updated. Columns only the older
    backup has are left out (a restore brings them back)."""

    table: str
    primary_key: list[str] = field(default_factory=list)
    inserted: list[Row] = field(default_factory=list)
    updated: list[tuple[Row, Row]] = field(default_factory=list)  # (older, newer)
    deleted: list[Row] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    # Per column only the newer backup has (of a table both have): rows with a value in it.
    added_column_values: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"inserted": len(self.inserted), "updated": len(self.updated),
                "deleted": len(self.deleted)}

    @property
    def changed(self) -> int:
        return len(self.inserted) + len(self.updated) + len(self.deleted)

    def describe(self) -> str:
        """`users: 2 inserted/1 updated (newer-only column nickname: 1 rows with a value)`"""
        rows = "/".join(f"{n} {kind}" for kind, n in self.counts().items() if n)
        columns = ", ".join(f"newer-only column {c}: {n} rows with a value"
                            for c, n in self.added_column_values.items())
        return f"{self.table}: {rows or 'no rows changed'}" + (f" ({columns})" if columns
                                                                else "")


@dataclass
class Discarded:
    """What restoring the older of two backups discards: every table with a changed row or a
    column only the newer backup has."""

    tables: list[TableDiff]

    @property
    def rows(self) -> int:
        return sum(t.changed for t in self.tables)

    def describe(self) -> str:
        return ", ".join(t.describe() for t in self.tables)

    def as_json(self) -> dict[str, Any]:
        return {t.table: {**t.counts(), "added_column_values": t.added_column_values}
                for t in self.tables}


def discarded_by_restore(diff: dict[str, TableDiff]) -> Discarded:
    return Discarded([d for name, d in diff.items() if name != "alembic_version"
                      and (d.changed or d.added_column_values)])


@dataclass(frozen=True)
class _Table:
    columns: list[str]
    primary_key: list[str]
    rows: list[Row]


def compare_backups(home: Home, older_id: str, newer_id: str, *,
                    scratch_admin_url: str | None = None) -> dict[str, TableDiff]:
    """Restore both backups into throwaway databases and diff every table."""
    older, newer = store.get_backup(home, older_id), store.get_backup(home, newer_id)
    if older.engine != newer.engine:
        raise OpsError(f"{older_id} is a {older.engine} backup and {newer_id} a "
                       f"{newer.engine} one: they cannot be compared", exit_code=2)
    with ExitStack() as stack:
        old_url = stack.enter_context(core.restored_copy(home, older, scratch_admin_url))
        new_url = stack.enter_context(core.restored_copy(home, newer, scratch_admin_url))
        return compare_databases(old_url, new_url)


def compare_databases(older_url: str, newer_url: str) -> dict[str, TableDiff]:
    before, after = _read_all(older_url), _read_all(newer_url)
    return {name: _diff(name, before.get(name), after.get(name))
            for name in sorted(before.keys() | after.keys())}


def _read_all(database_url: str) -> dict[str, _Table]:
    tables = sorted(core.table_counts(database_url))
    engine = create_engine(core.parse(database_url), poolclass=NullPool)
    try:
        inspector = inspect(engine)
        quote = engine.dialect.identifier_preparer.quote
        result = {}
        with engine.connect() as conn:
            for name in tables:
                # Generated columns (the search vector) follow from the others.
                columns = [c["name"] for c in inspector.get_columns(name) if not c.get("computed")]
                key = list(inspector.get_pk_constraint(name).get("constrained_columns") or [])
                query = f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(name)}"
                rows = [dict(r) for r in conn.execute(text(query)).mappings()]
                result[name] = _Table(columns, key, rows)
        return result
    finally:
        engine.dispose()


def _diff(name: str, before: _Table | None, after: _Table | None) -> TableDiff:
    if before is None or after is None:
        present = after or before
        assert present is not None
        rows = present.rows
        return TableDiff(name, present.primary_key, inserted=rows if after else [],
                         deleted=rows if before else [],
                         columns_added=present.columns if after else [],
                         columns_removed=present.columns if before else [])
    added = [c for c in after.columns if c not in before.columns]
    common = [c for c in after.columns if c in before.columns]
    diff = TableDiff(name, after.primary_key, columns_added=added,
                     columns_removed=[c for c in before.columns if c not in after.columns],
                     added_column_values={c: sum(r[c] is not None for r in after.rows)
                                          for c in added})
    # Rows are compared on the newer backup's columns: its newer-only columns read as null
    # in the older rows, so a value in one makes the row differ.
    old_rows = [_project(r, after.columns) for r in before.rows]
    new_rows = [_project(r, after.columns) for r in after.rows]
    key = after.primary_key
    if key and key == before.primary_key and set(key) <= set(common):
        old = {tuple(r[c] for c in key): r for r in old_rows}
        new = {tuple(r[c] for c in key): r for r in new_rows}
        diff.inserted = [new[k] for k in _sorted(new.keys() - old.keys())]
        diff.deleted = [old[k] for k in _sorted(old.keys() - new.keys())]
        diff.updated = [(old[k], new[k]) for k in _sorted(old.keys() & new.keys())
                        if old[k] != new[k]]
    else:
        diff.primary_key = []
        diff.inserted, diff.deleted = _bag_difference(new_rows, old_rows), \
            _bag_difference(old_rows, new_rows)
    return diff


def _bag_difference(rows: list[Row], minus: list[Row]) -> list[Row]:
    """The rows of `rows` that `minus` does not have as many times (a multiset difference)."""
    surplus = Counter(_canonical(r) for r in rows) - Counter(_canonical(r) for r in minus)
    found = []
    for row in sorted(rows, key=_canonical):
        key = _canonical(row)
        if surplus[key] > 0:
            surplus[key] -= 1
            found.append(row)
    return found


def _project(row: Row, columns: list[str]) -> Row:
    """The row's values in `columns`; null for a column the row's backup does not have."""
    return {c: row.get(c) for c in columns}


def _sorted(keys: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=repr)


def _plain(value: Any) -> Any:
    """A value as JSON can hold it."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(f"cannot represent {type(value).__name__} as JSON")


def _canonical(row: Row) -> str:
    return json.dumps(row, sort_keys=True, default=_plain)


# --- export --------------------------------------------------------------------------------


def export_diff(diff: dict[str, TableDiff], out_dir: Path, fmt: str = "json") -> list[Path]:
    """Write `<table>.<inserted|updated|deleted>.<fmt>` for every non-empty change; returns
    the files written. Updated rows are written as before/after pairs (JSON objects with
    `before` and `after`; CSV columns `before.<column>` and `after.<column>`)."""
    if fmt not in ("json", "csv"):
        raise OpsError(f"unknown export format {fmt!r} (json or csv)", exit_code=2)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for table, changes in sorted(diff.items()):
        for kind in KINDS:
            rows = _rows_of(changes, kind)
            if not rows:
                continue
            path = out_dir / f"{_safe(table)}.{kind}.{fmt}"
            if fmt == "json":
                path.write_text(json.dumps(rows, indent=2, default=_plain) + "\n")
            else:
                _write_csv(path, [_flatten(r) for r in rows])
            path.chmod(0o600)  # user data
            written.append(path)
    return written


def _rows_of(changes: TableDiff, kind: str) -> list[Row]:
    if kind == "updated":
        return [{"before": old, "after": new} for old, new in changes.updated]
    return list(changes.inserted if kind == "inserted" else changes.deleted)


def _flatten(row: Row) -> Row:
    if set(row) == {"before", "after"} and all(isinstance(v, dict) for v in row.values()):
        return {f"{side}.{c}": v for side in ("before", "after") for c, v in row[side].items()}
    return row


def _write_csv(path: Path, rows: list[Row]) -> None:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _cell(row.get(c)) for c in columns})


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=_plain)
    if isinstance(value, str | int | float | bool):
        return value
    return _plain(value)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)
