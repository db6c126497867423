"""Where the database's schema stands against what this code expects (Alembic), and the
migration commands the control plane runs with each release's own code.

Alembic is imported by the functions that need it, not here: a serving backend asks only
where the database stands (one query) and what its code expects (which the control plane
tells it, `EXPECTED_SCHEMA_VARIABLE`), and Alembic's import is ~0.15 s of every start."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, pool, text

from jobnaut.config import EXPECTED_SCHEMA_VARIABLE

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine | None = None, output: io.StringIO | None = None) -> Config:
    from alembic.config import Config

    config = Config(output_buffer=output) if output is not None else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR))


def expected_revision() -> str:
    """The head revision of the migrations shipped with this code."""
    head = scripts().get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def serving_expected_revision() -> str:
    """What a serving process compares the database with: the revision the control plane
    read from this release's build, else the migrations' head asked of Alembic."""
    return os.environ.get(EXPECTED_SCHEMA_VARIABLE, "").strip() or expected_revision()


def current_revision(engine: Engine) -> str | None:
    """The database's revision (Alembic's table), None before the first migration."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        found = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    if len(found) > 1:
        raise RuntimeError(f"the database has several heads: {', '.join(sorted(found))}")
    return str(found[0]) if found else None


def history() -> list[dict[str, str | None]]:
    """This code's migrations, oldest first."""
    revisions = list(scripts().walk_revisions())
    return [{"revision": r.revision, "down_revision": _single(r.down_revision),
             "doc": r.doc} for r in reversed(revisions)]


def _single(value: str | list[str] | tuple[str, ...] | None) -> str | None:
    if isinstance(value, (tuple, list)):
        return ",".join(value)
    return value


def _migration_engine(engine: Engine) -> Engine:
    """SQLite runs DDL outside transactions unless told otherwise; a migration engine that
    issues its own BEGIN makes each migration all-or-nothing there too, as on PostgreSQL.
    Foreign keys stay off while tables are rebuilt (batch mode), as SQLite's docs require.
    The BEGIN is IMMEDIATE: a deferred one reads the schema, then fails at its first write
    with "database is locked" (at once, whatever the busy timeout) when a user's write
    landed meanwhile, as it does when a deploy migrates under traffic."""
    if engine.dialect.name != "sqlite":
        return engine
    migrating = create_engine(engine.url, poolclass=pool.NullPool)

    @event.listens_for(migrating, "connect")
    def _no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(migrating, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return migrating


def _run(engine: Engine, action: Callable[[Config, str], None], revision: str,
         lock_timeout_ms: int | None = None) -> None:
    migrating = _migration_engine(engine)
    config = alembic_config(migrating)
    config.attributes["lock_timeout_ms"] = lock_timeout_ms
    try:
        with migrating.connect() as conn:
            config.attributes["connection"] = conn
            action(config, revision)
    finally:
        if migrating is not engine:
            migrating.dispose()


def upgrade(engine: Engine, revision: str = "head", lock_timeout_ms: int | None = None) -> None:
    from alembic import command

    _run(engine, command.upgrade, revision, lock_timeout_ms)


def downgrade(engine: Engine, revision: str, lock_timeout_ms: int | None = None) -> None:
    from alembic import command

    _run(engine, command.downgrade, revision, lock_timeout_ms)


def render_downgrade_sql(from_revision: str, to_revision: str) -> str:
    """The SQL the downgrade scripts would run, rendered offline for PostgreSQL (used to
    classify what a downgrade destroys; nothing touches a database)."""
    from alembic import command

    out = io.StringIO()
    config = alembic_config(output=out)
    config.attributes["offline_dialect"] = "postgresql"
    command.downgrade(config, f"{from_revision}:{to_revision}", sql=True)
    return out.getvalue()


def render_upgrade_sql(from_revision: str, to_revision: str) -> str:
    """The SQL the upgrade scripts would run, rendered offline for PostgreSQL (used to tell
    a backward-compatible change from one the running release cannot live with)."""
    from alembic import command

    out = io.StringIO()
    config = alembic_config(output=out)
    config.attributes["offline_dialect"] = "postgresql"
    command.upgrade(config, f"{from_revision}:{to_revision}", sql=True)
    return out.getvalue()


def foreign_key_problems(engine: Engine) -> list[str]:
    """Rows whose foreign keys point nowhere (SQLite can hold them when checks were off)."""
    if engine.dialect.name != "sqlite":
        return []  # PostgreSQL enforces foreign keys on every write
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    return [f"{r[0]} row {r[1]} → {r[2]}" for r in rows]
