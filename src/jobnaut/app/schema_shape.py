"""A database's whole schema as plain data, to tell whether two databases have the same one
(the live database against a scratch one migrated to a revision).

Read with SQLAlchemy's inspector, the same code on SQLite and PostgreSQL: tables, columns
(type, nullability, default, generated expression), primary keys, foreign keys, unique and
check constraints, and indexes (name, columns or expressions, uniqueness, sort order, method,
partial predicate). What the inspector cannot see is read from the catalogue: triggers (the
SQLite full-text index is kept up to date by them), SQLite virtual tables and expression
indexes. Column order is ignored on purpose: a column dropped and added again by hand is the
same schema.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Inspector
from sqlalchemy.engine.interfaces import ReflectedColumn, ReflectedIndex

Shape = dict[str, Any]  # {"tables": {name: {...}}, "triggers": {...}, "views": {...}}

# Bookkeeping, not schema: Alembic's version table and SQLite's own tables.
_IGNORED_TABLES = {"alembic_version"}


def schema_shape(engine: Engine) -> Shape:
    inspector = inspect(engine)
    sqlite = engine.dialect.name == "sqlite"
    with warnings.catch_warnings():
        # SQLite's reflection skips expression indexes with a warning; they are read from
        # sqlite_master below instead.
        warnings.simplefilter("ignore")
        with engine.connect() as conn:
            hidden, virtual = _sqlite_special_tables(conn) if sqlite else (set(), {})
            tables = {}
            for name in sorted(inspector.get_table_names()):
                if name in _IGNORED_TABLES or name in hidden:
                    continue
                tables[name] = (_virtual_table(virtual[name]) if name in virtual
                                else _table(inspector, name))
            if sqlite:
                _add_sqlite_expression_indexes(conn, tables)
            triggers = _sqlite_triggers(conn) if sqlite else _postgres_triggers(conn)
    views = {v: _normalised(inspector.get_view_definition(v) or "")
             for v in sorted(inspector.get_view_names())}
    return {"tables": tables, "triggers": triggers, "views": views}


def _table(inspector: Inspector, name: str) -> dict[str, Any]:
    primary_key = inspector.get_pk_constraint(name)
    return {
        "columns": {c["name"]: _column(c) for c in inspector.get_columns(name)},
        "primary_key": {"name": primary_key.get("name"),
                        "columns": list(primary_key.get("constrained_columns") or [])},
        "foreign_keys": _sorted([{"name": fk.get("name"),
                                  "columns": fk["constrained_columns"],
                                  "references": f"{fk['referred_table']}"
                                                f"({', '.join(fk['referred_columns'])})",
                                  "options": _plain(fk.get("options") or {})}
                                 for fk in inspector.get_foreign_keys(name)]),
        "unique": _sorted([{"name": u.get("name"), "columns": u["column_names"]}
                           for u in inspector.get_unique_constraints(name)]),
        "checks": _sorted([{"name": c.get("name"), "sql": _normalised(c["sqltext"])}
                           for c in inspector.get_check_constraints(name)]),
        "indexes": {ix["name"]: _index(ix) for ix in inspector.get_indexes(name)
                    # PostgreSQL lists each unique constraint's index too: compared above.
                    if not ix.get("duplicates_constraint")},
    }


def _column(column: ReflectedColumn) -> dict[str, Any]:
    computed = column.get("computed")
    return {"type": str(column["type"]), "nullable": bool(column["nullable"]),
            "default": None if column.get("default") is None
            else _normalised(str(column["default"])),
            "generated": None if not computed else _normalised(str(computed["sqltext"]))}


def _index(index: ReflectedIndex) -> dict[str, Any]:
    options = {k: v for k, v in (index.get("dialect_options") or {}).items()
               if v not in ([], None, {})}  # PostgreSQL reports an empty INCLUDE list
    return {"columns": [c if c is not None else "(expression)"
                        for c in index["column_names"]],
            "expressions": [_normalised(e) for e in index.get("expressions") or []],
            "unique": bool(index["unique"]),
            "sorting": _plain(index.get("column_sorting") or {}),
            "options": _plain(options)}


def _virtual_table(sql: str) -> dict[str, Any]:
    return {"virtual": _normalised(sql)}


def _sqlite_special_tables(conn: Any) -> tuple[set[str], dict[str, str]]:
    """SQLite's internal and shadow tables (they follow from a virtual table), and each
    virtual table's CREATE statement."""
    listed = conn.exec_driver_sql("PRAGMA table_list").fetchall()
    hidden = {r[1] for r in listed if r[2] == "shadow" or r[1].startswith("sqlite_")}
    virtual = dict(conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND sql LIKE 'CREATE VIRTUAL TABLE%'").fetchall())
    return hidden, virtual


def _add_sqlite_expression_indexes(conn: Any, tables: dict[str, Any]) -> None:
    rows = conn.exec_driver_sql("SELECT name, tbl_name, sql FROM sqlite_master "
                                "WHERE type = 'index' AND sql IS NOT NULL").fetchall()
    for name, table, sql in rows:
        indexes = tables.get(table, {}).get("indexes")
        if indexes is not None and name not in indexes:
            indexes[name] = {"definition": _normalised(sql)}


def _sqlite_triggers(conn: Any) -> dict[str, str]:
    rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                "ORDER BY name").fetchall()
    return {name: _normalised(sql) for name, sql in rows}


def _postgres_triggers(conn: Any) -> dict[str, str]:
    rows = conn.execute(text(
        "SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE NOT t.tgisinternal AND n.nspname = current_schema() ORDER BY t.tgname"))
    return {name: _normalised(definition) for name, definition in rows}


def _normalised(sql: Any) -> str:
    """SQL text with whitespace, quoting and redundant outer parentheses evened out, so the
    same definition typed twice compares equal."""
    out = re.sub(r"\s+", " ", str(sql)).replace('"', "").strip()
    while out.startswith("(") and out.endswith(")") and _balanced(out[1:-1]):
        out = out[1:-1].strip()
    return out


def _balanced(sql: str) -> bool:
    depth = 0
    for char in sql:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _plain(value: Any) -> Any:
    """Tuples and the like as JSON holds them, so a shape survives a JSON round trip."""
    return json.loads(json.dumps(value, default=str))


def _sorted(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))


# --- differences -----------------------------------------------------------------------------


def shape_differences(expected: Shape, live: Shape) -> list[str]:
    """What the live schema has that the expected one does not, and the reverse, one line
    each ("extra index jobs.ix_jobs_search_filters (posted_at, …)")."""
    out: list[str] = []
    expected_tables, live_tables = expected["tables"], live["tables"]
    for table in sorted(expected_tables.keys() | live_tables.keys()):
        if table not in live_tables:
            out.append(f"missing table {table}")
        elif table not in expected_tables:
            out.append(f"extra table {table}")
        else:
            out += _table_differences(table, expected_tables[table], live_tables[table])
    for kind in ("triggers", "views"):
        out += _named_differences(kind[:-1], expected.get(kind, {}), live.get(kind, {}))
    return out


def _table_differences(table: str, expected: dict[str, Any], live: dict[str, Any]) -> list[str]:
    if "virtual" in expected or "virtual" in live:
        same = expected.get("virtual") == live.get("virtual")
        return [] if same else [f"virtual table {table}: expected {expected.get('virtual')}, "
                                f"live {live.get('virtual')}"]
    out = _column_differences(table, expected["columns"], live["columns"])
    if expected["primary_key"] != live["primary_key"]:
        out.append(f"primary key of {table}: expected {_describe(expected['primary_key'])}, "
                   f"live {_describe(live['primary_key'])}")
    for kind, label in (("foreign_keys", "foreign key"), ("unique", "unique constraint"),
                        ("checks", "check constraint")):
        out += _listed_differences(f"{label} on {table}", expected[kind], live[kind])
    out += _named_differences("index", expected["indexes"], live["indexes"], prefix=f"{table}.")
    return out


def _column_differences(table: str, expected: dict[str, Any],
                        live: dict[str, Any]) -> list[str]:
    out = []
    for column in sorted(expected.keys() | live.keys()):
        if column not in live:
            out.append(f"missing column {table}.{column}")
        elif column not in expected:
            out.append(f"extra column {table}.{column}")
        else:
            out += [f"column {table}.{column}: {what} expected {expected[column][what]}, "
                    f"live {live[column][what]}"
                    for what in ("type", "nullable", "default", "generated")
                    if expected[column][what] != live[column][what]]
    return out


def _listed_differences(label: str, expected: list[Any], live: list[Any]) -> list[str]:
    out = [f"missing {label}: {_describe(item)}" for item in expected if item not in live]
    return out + [f"extra {label}: {_describe(item)}" for item in live if item not in expected]


def _named_differences(label: str, expected: dict[str, Any], live: dict[str, Any],
                       prefix: str = "") -> list[str]:
    out = []
    for name in sorted(expected.keys() | live.keys()):
        if name not in live:
            out.append(f"missing {label} {prefix}{name} {_describe(expected[name])}")
        elif name not in expected:
            out.append(f"extra {label} {prefix}{name} {_describe(live[name])}")
        elif expected[name] != live[name]:
            out.append(f"{label} {prefix}{name}: expected {_describe(expected[name])}, "
                       f"live {_describe(live[name])}")
    return out


def _describe(item: Any) -> str:
    """An index or constraint in a few words: `(skill, job_id) unique`."""
    if isinstance(item, str):
        return item
    if "definition" in item:
        return str(item["definition"])
    parts = [f"({', '.join(item.get('expressions') or item.get('columns') or [])})"]
    if item.get("references"):
        parts.append(f"→ {item['references']}")
    if item.get("sql"):
        parts = [f"CHECK ({item['sql']})"]
    if item.get("unique"):
        parts.append("unique")
    for key in ("sorting", "options"):
        if item.get(key):
            parts.append(json.dumps(item[key], sort_keys=True))
    if item.get("name") and "unique" not in item:  # a named constraint (indexes: by key)
        parts.insert(0, str(item["name"]))
    return " ".join(parts)
