from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from jobnaut.app.models import Base

config = context.config
target_metadata = Base.metadata


def _include(obj, name, type_, reflected, compare_to):
    # Full-text search objects are made by hand-written SQL, not by the models.
    return not (name or "").startswith("jobs_fts")


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    timeout = config.attributes.get("lock_timeout_ms")
    if timeout and connection.dialect.name == "postgresql":
        # A downgrade waits at most this long for a lock instead of queueing every query
        # behind it; on timeout its transaction rolls back and nothing is half-applied.
        connection.exec_driver_sql(f"SET lock_timeout = {int(timeout)}")
        connection.commit()  # a session setting; each migration then has its own transaction


def run_offline() -> None:
    context.configure(
        dialect_name=config.attributes.get("offline_dialect", "postgresql"),
        target_metadata=target_metadata,
        literal_binds=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes["connection"]
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
