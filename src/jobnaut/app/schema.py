"""Where the database's schema stands against what this code expects (Alembic), and the
migration commands the control plane runs with each release's own code."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, pool

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine | None = None, output: io.StringIO | None = None) -> Config:
    config = Config(output_buffer=output) if output is not None else Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS_DIR))


def expected_revision() -> str:
    """The head revision of the migrations shipped with this code."""
    head = scripts().get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


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
    _run(engine, command.upgrade, revision, lock_timeout_ms)


def downgrade(engine: Engine, revision: str, lock_timeout_ms: int | None = None) -> None:
    _run(engine, command.downgrade, revision, lock_timeout_ms)


def render_downgrade_sql(from_revision: str, to_revision: str) -> str:
    """The SQL the downgrade scripts would run, rendered offline for PostgreSQL (used to
    classify what a downgrade destroys; nothing touches a database)."""
    out = io.StringIO()
    config = alembic_config(output=out)
    config.attributes["offline_dialect"] = "postgresql"
    command.downgrade(config, f"{from_revision}:{to_revision}", sql=True)
    return out.getvalue()


def render_upgrade_sql(from_revision: str, to_revision: str) -> str:
    """The SQL the upgrade scripts would run, rendered offline for PostgreSQL (used to tell
    a backward-compatible change from one the running release cannot live with)."""
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
