"""Creating, verifying and restoring backups, whatever the database engine."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL

from jobnaut.config import parse_database_url
from jobnaut.ops.backups import postgres, sqlite, store
from jobnaut.ops.backups.store import Manifest, VerifyResult
from jobnaut.ops.environment import Home
from jobnaut.ops.errors import OpsError


def parse(database_url: str) -> URL:
    try:
        return parse_database_url(database_url)
    except ValueError as exc:
        raise OpsError(f"DATABASE_URL: {exc}", exit_code=2) from None


def engine_of(url: URL) -> str:
    return "sqlite" if url.get_backend_name() == "sqlite" else "postgresql"


def sqlite_path(url: URL) -> Path:
    return Path(str(url.database)).resolve()


def table_counts(database_url: str) -> dict[str, int]:
    """Rows per user table (FTS shadow tables and SQLite's own excluded; alembic_version in)."""
    url = parse(database_url)
    if engine_of(url) == "sqlite":
        return sqlite.table_counts(sqlite_path(url))
    return postgres.table_counts(url)


def create_sqlite_file(database_url: str) -> None:
    """A first deploy's SQLite database, made empty before its first backup (and
    migration), so that the backup records where the environment started. Nothing for an
    existing file or for PostgreSQL (its database is made by whoever runs the server)."""
    url = parse(database_url)
    if engine_of(url) != "sqlite" or sqlite_path(url).exists():
        return
    sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(sqlite_path(url)).close()


def schema_revision(database_url: str) -> str | None:
    """The revision in the database's alembic_version, read with the driver alone: no
    engine and no Alembic, so a rollback's "check target" costs one query."""
    url = parse(database_url)
    if engine_of(url) == "sqlite":
        path = sqlite_path(url)
        if not path.exists():
            return None
        with sqlite.connect(path) as conn:
            known = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'alembic_version'").fetchone()
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone() \
                if known else None
        return str(row[0]) if row else None
    with postgres.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('public.alembic_version')").fetchone()
        row = conn.execute("SELECT version_num FROM public.alembic_version").fetchone() \
            if found and found[0] else None
    return str(row[0]) if row else None


def create_backup(home: Home, database_url: str, *, kind: str, release: str | None,
                  schema_revision: str | None, directory_format: bool | None = None) -> Manifest:
    """Dump the database into a new backup. `schema_revision` None records the revision the
    database itself holds (its alembic_version), if any."""
    url = parse(database_url)
    engine = engine_of(url)
    with store.creating(home, kind=kind, release=release) as (backup_id, partial):
        checksum = None
        if engine == "sqlite":
            file, fmt, lsn = "database.sqlite3", "sqlite", None
            tables = sqlite.dump(sqlite_path(url), partial / file)
            revision = _sqlite_revision(partial / file, tables)
        else:
            dump = postgres.dump(url, partial, directory_format=directory_format,
                                 prefix=client_prefix(home))
            file, fmt, tables, lsn = dump.file, dump.format, dump.tables, dump.wal_lsn
            revision, checksum = dump.schema_revision, dump.checksum
        store.make_private(partial / file)
        store.fsync_tree(partial / file)
        size, sha = checksum or store.checksum(partial / file)
        manifest = Manifest(
            id=backup_id, environment=home.config.name, kind=kind, release=release,
            schema_revision=schema_revision if schema_revision is not None else revision,
            created_at=datetime.now(UTC).isoformat(), engine=engine, format=fmt, file=file,
            size=size, sha256=sha, tables=dict(sorted(tables.items())), wal_lsn=lsn,
        )
        data = manifest.as_json()
        del data["verified_at"]
        store.write_json(partial / store.MANIFEST, data)
    return manifest


def _sqlite_revision(path: Path, tables: dict[str, int]) -> str | None:
    if not tables.get("alembic_version"):
        return None
    with sqlite.connect(path) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def _checksum_problem(home: Home, manifest: Manifest) -> str | None:
    """Why the dump does not match its manifest, or None when it does."""
    path = store.dump_path(home, manifest)
    try:
        size, sha = store.checksum(path)
    except OSError as exc:
        return f"the dump {manifest.file} cannot be read: {exc}"
    if size != manifest.size:
        return (f"the dump is {size} bytes, the manifest says {manifest.size} "
                f"(truncated or modified)")
    if sha != manifest.sha256:
        return f"sha256 mismatch: the manifest says {manifest.sha256[:16]}…, the dump has " \
               f"{sha[:16]}… (the dump is corrupted or was modified)"
    return None


def verify_backup(home: Home, backup_id: str, *,
                  scratch_admin_url: str | None = None) -> VerifyResult:
    """Checksum, then a test restore (a temporary file, or a scratch PostgreSQL database on
    `scratch_admin_url`, by default the environment's own server) with an integrity check and
    row counts compared with the manifest. Records the result in verified.json."""
    manifest = store.get_backup(home, backup_id)
    problem = _checksum_problem(home, manifest)
    checks: list[tuple[str, bool, str]] = [
        ("checksum", problem is None, problem or f"sha256 {manifest.sha256[:16]}… matches")]
    if problem is None:
        if manifest.engine == "sqlite":
            checks += _verify_sqlite(home, manifest)
        else:
            checks += _verify_postgres(home, manifest, scratch_admin_url)
    else:
        checks.append(("test restore", False, "not attempted: the dump is damaged"))
    ok = all(passed for _, passed, _ in checks)
    if ok:
        store.mark_verified(home, backup_id, checks)
    else:
        store.clear_verified(home, backup_id)
    return VerifyResult(ok=ok, checks=checks)


def _counts_check(expected: dict[str, int], found: dict[str, int] | None) -> tuple[str, bool, str]:
    if found is None:
        return "row counts", False, "not compared: the test restore failed"
    differences = count_differences(expected, found)
    if differences:
        return "row counts", False, "differ from the manifest: " + ", ".join(differences)
    return "row counts", True, f"{len(found)} tables, {sum(found.values())} rows as recorded"


def count_differences(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    return [f"{t} {expected.get(t, 'missing')} ≠ {found.get(t, 'missing')}"
            for t in sorted(expected.keys() | found.keys()) if expected.get(t) != found.get(t)]


def _verify_sqlite(home: Home, manifest: Manifest) -> list[tuple[str, bool, str]]:
    # Beside the backups (where there is room for them), not in a possibly small /tmp.
    result, found = sqlite.trial_restore(store.dump_path(home, manifest), home.backups)
    return [("test restore", result == "ok",
             "restored to a temporary file; integrity_check ok" if result == "ok"
             else f"integrity_check: {result}"),
            _counts_check(manifest.tables, found)]


def _verify_postgres(home: Home, manifest: Manifest,
                     admin_url: str | None) -> list[tuple[str, bool, str]]:
    archive = store.dump_path(home, manifest)
    try:
        toc = postgres.list_archive(archive, client_prefix(home))
        entries = sum(1 for line in toc.splitlines() if line and not line.startswith(";"))
        checks = [("archive", True, f"pg_restore --list reads {entries} entries")]
    except OpsError as exc:
        return [("archive", False, exc.message),
                ("test restore", False, "not attempted: the archive cannot be read")]
    try:
        with postgres.scratch_database(admin_url or default_admin_url(home)) as scratch:
            postgres.restore(archive, manifest.format, parse(scratch),
                             client_prefix(home))
            found = postgres.table_counts(parse(scratch))
    except OpsError as exc:
        return [*checks, ("test restore", False, exc.message),
                _counts_check(manifest.tables, None)]
    return [*checks, ("test restore", True, "restored into a scratch database"),
            _counts_check(manifest.tables, found)]


def client_prefix(home: Home) -> list[str]:
    """Where pg_dump/pg_restore run: in the db service's container when JobNaut manages
    PostgreSQL under Compose, else on this host."""
    from jobnaut.ops.drivers.compose_db import client_prefix as prefix

    return prefix(home)


def default_admin_url(home: Home) -> str:
    """The environment's own PostgreSQL server (its current DATABASE_URL), database postgres."""
    from jobnaut.ops.context import Env

    env = Env.open(home.root)
    url = parse(env.config_of(env.current_config_id())["DATABASE_URL"])
    if engine_of(url) != "postgresql":
        raise OpsError("this environment's database is not PostgreSQL: no server to restore a "
                       "PostgreSQL backup on", hint="pass a scratch server's admin URL")
    return url.set(database="postgres").render_as_string(hide_password=False)


def restore_into(home: Home, backup_id: str, target_url: str) -> None:
    """Restore a backup into an empty (or missing) database or file beside the live one.
    A dump that does not match its checksum is refused and the target left untouched."""
    manifest = store.get_backup(home, backup_id)
    url = parse(target_url)
    if engine_of(url) != manifest.engine:
        raise OpsError(f"backup {backup_id} is a {manifest.engine} backup; the target is "
                       f"{engine_of(url)}", exit_code=2)
    problem = _checksum_problem(home, manifest)
    if problem:
        raise OpsError(f"backup {backup_id} cannot be trusted: {problem}",
                       hint="restore another backup; `jobnaut backup list` shows them")
    archive = store.dump_path(home, manifest)
    if manifest.engine == "sqlite":
        sqlite.restore(archive, sqlite_path(url))
    else:
        postgres.restore(archive, manifest.format, url, client_prefix(home))
    differences = count_differences(manifest.tables, table_counts(target_url))
    if differences:
        raise OpsError(f"the restore of {backup_id} does not hold the rows it should: "
                       + ", ".join(differences), hint="do not swap it in; use another backup")


@contextlib.contextmanager
def restored_copy(home: Home, manifest: Manifest, admin_url: str | None) -> Iterator[str]:
    """A throwaway database holding the backup: a temporary file or a scratch database."""
    if manifest.engine == "sqlite":
        with sqlite.scratch_directory(home.backups) as scratch:
            url = f"sqlite:///{scratch / 'restored.db'}"
            restore_into(home, manifest.id, url)
            yield url
    else:
        with postgres.scratch_database(admin_url or default_admin_url(home)) as url:
            restore_into(home, manifest.id, url)
            yield url


def remove_orphaned_scratch(home: Home, database_urls: list[str]) -> list[str]:
    """Drop the scratch databases and files left by processes that are gone (a killed
    verify, restore or readiness check), on the servers and beside the files of
    `database_urls`, and in the home's backups. Never another running process's."""
    removed = sqlite.remove_orphaned_scratch(home.backups)
    servers: dict[tuple[object, object], str] = {}
    for database_url in database_urls:
        url = parse(database_url)
        if engine_of(url) == "sqlite":
            removed += sqlite.remove_orphaned_scratch(sqlite_path(url).parent)
        else:
            servers.setdefault((url.host, url.port), database_url)
    for database_url in servers.values():
        removed += postgres.drop_orphaned_scratch(parse(database_url))
    return removed


@contextlib.contextmanager
def scratch_target(live_url: str) -> Iterator[str]:
    """A URL for restoring beside the live database: a new file in the live file's
    directory, or a new database name on the live server. Whatever is there afterwards is
    removed, unless `replace_database` swapped it in (then it is the live database)."""
    live = parse(live_url)
    if engine_of(live) == "sqlite":
        with sqlite.scratch_target(sqlite_path(live)) as path:
            yield f"sqlite:///{path}"
    else:
        with postgres.scratch_target(live) as url:
            yield url.render_as_string(hide_password=False)


def replace_database(live_url: str, restored_url: str) -> None:
    """Swap a side-by-side restored database in for the live one (the services stopped).
    SQLite: one rename of the restored file over the live file. PostgreSQL: the live
    database is renamed aside, the restored one takes its name, the old one is dropped only
    after that succeeded."""
    live, restored = parse(live_url), parse(restored_url)
    if engine_of(live) != engine_of(restored):
        raise OpsError("the live and the restored database are not the same engine", exit_code=2)
    if engine_of(live) == "sqlite":
        sqlite.replace(sqlite_path(live), sqlite_path(restored))
    else:
        postgres.replace(live, restored)
