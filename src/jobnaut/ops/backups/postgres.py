"""PostgreSQL backups with the server's own pg_dump and pg_restore.

SQL (row counts, creating and renaming databases) goes through psycopg; the dump and
restore tools through `runner.run`, with the password in PGPASSWORD and never in argv.
The row counts in a manifest are read inside the very snapshot pg_dump dumps
(`pg_export_snapshot` + `pg_dump --snapshot`), so they match the dump exactly even while
the services write.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import URL, make_url

from jobnaut.ops import commands, runner
from jobnaut.ops.backups import scratch
from jobnaut.ops.errors import OpsError

log = logging.getLogger(__name__)

PG_LIB = Path("/usr/lib/postgresql")
DIRECTORY_FORMAT_ABOVE = 1 << 30  # bytes (pg_database_size): dump larger ones in parallel
TOOL_TIMEOUT = 6 * 3600.0
MAINTENANCE_DATABASES = ("postgres", "template1")
# Names of scratch databases: `jobnaut_scratch_<tag>` and `<live>_restore_<tag>`, where the
# tag names the process that made them (see `scratch`).
SCRATCH_PREFIX = "jobnaut_scratch_"
RESTORE_INFIX = "_restore_"


# --- connecting ----------------------------------------------------------------------------


def as_url(url: URL | str) -> URL:
    return make_url(url) if isinstance(url, str) else url


def conninfo(url: URL, database: str | None = None) -> str:
    """libpq connection string without the password (it goes in PGPASSWORD)."""
    params: dict[str, Any] = {"host": url.host, "port": url.port, "user": url.username,
                              "dbname": database or url.database}
    for key, value in url.query.items():
        if key != "password":
            params[key] = value if isinstance(value, str) else value[-1]
    return make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")})


def tool_env(url: URL) -> tuple[dict[str, str], list[str]]:
    """(environment, secrets) for running a PostgreSQL client tool against `url`."""
    password = url.password if isinstance(url.password, str) else None
    return ({"PGPASSWORD": password}, [password]) if password else ({}, [])


def connect(url: URL, database: str | None = None, *,
            autocommit: bool = True) -> psycopg.Connection[Any]:
    info = conninfo(url, database)
    if url.password:  # in-process only: never in argv or a log line
        info = make_conninfo(info, password=str(url.password))
    try:
        return psycopg.connect(info, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as exc:
        where = f"{database or url.database} on {url.host or 'localhost'}:{url.port or 5432}"
        raise OpsError(f"cannot connect to PostgreSQL database {where}: "
                       f"{str(exc).strip()}") from None


def connect_admin(url: URL) -> psycopg.Connection[Any]:
    """A connection to a maintenance database of `url`'s server (for CREATE/DROP/RENAME)."""
    error: OpsError | None = None
    for name in MAINTENANCE_DATABASES:
        try:
            return connect(url, name)
        except OpsError as exc:
            error = exc
    assert error is not None
    raise error


def tool(name: str, server_major: int) -> str:
    """The server's own major version of a client tool when installed, else the one on PATH."""
    matching = PG_LIB / str(server_major) / "bin" / name
    if matching.is_file():
        return str(matching)
    return shutil.which(name) or name


def newest_tool(name: str) -> str:
    """The newest installed version of a tool: it reads archives of every older pg_dump."""
    installed = [p for p in PG_LIB.glob(f"*/bin/{name}") if p.parent.parent.name.isdigit()]
    if installed:
        return str(max(installed, key=lambda p: int(p.parent.parent.name)))
    return shutil.which(name) or name


def _major(conn: psycopg.Connection[Any]) -> int:
    return conn.info.server_version // 10000


def _jobs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


# --- reading -------------------------------------------------------------------------------


def user_tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname").fetchall()
    return [r[0] for r in rows]


def counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    result = {}
    for table in user_tables(conn):
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier("public"), sql.Identifier(table))).fetchone()
        result[table] = int(row[0]) if row else 0
    return result


def table_counts(url: URL) -> dict[str, int]:
    with connect(url) as conn:
        return counts(conn)


def _wal_lsn(conn: psycopg.Connection[Any]) -> str | None:
    try:
        with conn.transaction():  # a savepoint: a refusal must not end the snapshot
            row = conn.execute(
                "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                "ELSE pg_current_wal_lsn() END::text").fetchone()
    except psycopg.Error:
        return None
    return str(row[0]) if row and row[0] else None


def _revision(conn: psycopg.Connection[Any], tables: dict[str, int]) -> str | None:
    if not tables.get("alembic_version"):
        return None
    row = conn.execute("SELECT version_num FROM public.alembic_version").fetchone()
    return str(row[0]) if row else None


# --- dump and restore ----------------------------------------------------------------------


@dataclass(frozen=True)
class Dump:
    file: str
    format: str
    tables: dict[str, int]
    wal_lsn: str | None
    schema_revision: str | None
    checksum: tuple[int, str] | None = None  # (size, sha256) when taken during the dump


def dump(url: URL, dest: Path, *, directory_format: bool | None,
         prefix: Sequence[str] = ()) -> Dump:
    """Dump `url` into the directory `dest` (custom format, or directory format in parallel
    for a large database when `directory_format` is None). With `prefix` the server's own
    tools run where it runs (a db service's container)."""
    with connect(url, autocommit=False) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        snapshot_row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot_row is not None
        tables = counts(conn)
        lsn = _wal_lsn(conn)
        revision = _revision(conn, tables)
        if directory_format is None:
            size_row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            directory_format = bool(size_row and size_row[0] > DIRECTORY_FORMAT_ABOVE)
        name = "database.dir" if directory_format else "database.dump"
        env, secrets = tool_env(url)
        argv = commands.pg_dump(conninfo(url), dest / name if directory_format else None,
                                snapshot=str(snapshot_row[0]), directory=directory_format,
                                jobs=_jobs(), binary="pg_dump" if prefix else
                                tool("pg_dump", _major(conn)), prefix=prefix)
        checksum = None
        if directory_format:  # parallel workers write the files: summed up afterwards
            runner.run(argv, env=env, secrets=secrets, timeout=TOOL_TIMEOUT)
        else:  # one stream: its checksum is taken as it is written
            checksum = runner.run_into(argv, dest / name, env=env, secrets=secrets,
                                       timeout=TOOL_TIMEOUT)
        conn.rollback()
    return Dump(file=name, format="directory" if directory_format else "custom",
                tables=tables, wal_lsn=lsn, schema_revision=revision, checksum=checksum)


def list_archive(archive: Path, prefix: Sequence[str] = ()) -> str:
    binary = "pg_restore" if prefix else newest_tool("pg_restore")
    return runner.run(commands.pg_restore_list(archive, binary=binary, prefix=prefix),
                      timeout=TOOL_TIMEOUT)


def restore(archive: Path, fmt: str, target: URL, prefix: Sequence[str] = ()) -> None:
    """Restore into `target`, created when missing; it must otherwise be empty. A database
    created here is dropped again if the restore fails."""
    created = _ensure_empty(target)
    try:
        with connect(target) as conn:
            major = _major(conn)
        env, secrets = tool_env(target)
        jobs = _jobs() if fmt == "directory" else 1
        runner.run(commands.pg_restore(conninfo(target), archive, jobs=jobs,
                                       binary="pg_restore" if prefix else
                                       tool("pg_restore", major), prefix=prefix),
                   env=env, secrets=secrets, timeout=TOOL_TIMEOUT)
    except BaseException:
        if created:
            drop_database(target, str(target.database))
        raise


def _ensure_empty(target: URL) -> bool:
    """True when the database had to be created."""
    name = str(target.database)
    with connect_admin(target) as admin:
        if not _exists(admin, name):
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
                sql.Identifier(name)))
            return True
    with connect(target) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'"
        ).fetchone()
    if row and row[0]:
        raise OpsError(f"restore target database {name} is not empty",
                       hint="restore into a new database, then swap it in")
    return False


def _exists(admin: psycopg.Connection[Any], name: str) -> bool:
    return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() \
        is not None


def drop_database(url: URL, name: str) -> None:
    with connect_admin(url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


@contextlib.contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new empty database on the server of `admin_url`, dropped afterwards."""
    url = as_url(admin_url)
    name = f"{SCRATCH_PREFIX}{scratch.tag()}"
    with connect_admin(url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
            sql.Identifier(name)))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(url, name)


@contextlib.contextmanager
def scratch_target(live: URL) -> Iterator[URL]:
    """A new empty database beside `live`, with its encoding and locale (so that swapping it
    in changes no sort order); dropped afterwards unless it was swapped in meanwhile (then
    its name no longer exists)."""
    suffix = f"{RESTORE_INFIX}{scratch.tag()}"
    name = str(live.database)[:63 - len(suffix)] + suffix
    with connect_admin(live) as admin:
        row = admin.execute("SELECT pg_encoding_to_char(encoding), datcollate, datctype "
                            "FROM pg_database WHERE datname = %s", (live.database,)).fetchone()
        create = sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name))
        if row:
            create += sql.SQL(" ENCODING {} LC_COLLATE {} LC_CTYPE {}").format(
                sql.Literal(row[0]), sql.Literal(row[1]), sql.Literal(row[2]))
        admin.execute(create)
    try:
        yield live.set(database=name)
    finally:
        drop_database(live, name)


def drop_orphaned_scratch(url: URL | str) -> list[str]:
    """Drop the scratch databases on `url`'s server whose creator (this host, pid and start
    ticks, in the name) is gone; another running operation's are left alone."""
    try:
        with connect_admin(as_url(url)) as admin:
            names = [str(r[0]) for r in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s",
                (SCRATCH_PREFIX.replace("_", "\\_") + "%",
                 "%" + RESTORE_INFIX.replace("_", "\\_") + "%")).fetchall()]
    except psycopg.Error as exc:
        raise OpsError(f"cannot list scratch databases: {str(exc).strip()}") from None
    dropped = []
    for name in names:
        if scratch.orphaned(name):
            try:
                drop_database(as_url(url), name)
            except psycopg.Error as exc:
                raise OpsError(f"cannot drop the scratch database {name}: "
                               f"{str(exc).strip()}") from None
            dropped.append(name)
    return dropped


# --- swapping ------------------------------------------------------------------------------


def replace(live: URL, restored: URL) -> None:
    """Rename `restored` to the live database's name. The live database is renamed aside
    first and dropped only once the swap has succeeded; on any failure it is put back."""
    live_name, restored_name = str(live.database), str(restored.database)
    if (live.host, live.port) != (restored.host, restored.port):
        raise OpsError("the restored database must be on the live database's server",
                       hint="restore side by side on the same server")
    if live_name == restored_name:
        raise OpsError("the restored database is the live database")
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    suffix = f"_old_{stamp}"
    aside = live_name[:63 - len(suffix)] + suffix
    with connect_admin(live) as admin:
        for name in (live_name, restored_name):
            if not _exists(admin, name):
                raise OpsError(f"database {name} does not exist")
        _swap(admin, live_name, restored_name, aside)
        try:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(aside)))
        except psycopg.Error as exc:
            log.warning("the restored database is live; the replaced one is kept as %s "
                        "(it could not be dropped: %s)", aside, exc)


def _swap(admin: psycopg.Connection[Any], live: str, restored: str, aside: str,
          attempts: int = 20) -> None:
    """Both renames in one transaction (ALTER DATABASE … RENAME may run in one): a crash
    or a failure between them leaves the live database where it was."""
    def rename(old: str, new: str) -> sql.Composed:
        return sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(old),
                                                                 sql.Identifier(new))

    for attempt in range(attempts):
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname IN (%s, %s) AND pid <> pg_backend_pid()", (live, restored))
        try:
            with admin.transaction():
                admin.execute(rename(live, aside))
                admin.execute(rename(restored, live))
            return
        except psycopg.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise OpsError(f"database {live} is still in use; cannot swap it",
                               hint="stop the services that use it and try again") from None
            time.sleep(0.25)
        except psycopg.Error as exc:
            raise OpsError(f"cannot swap database {restored} in for {live}: {exc}") from None
