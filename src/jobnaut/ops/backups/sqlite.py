"""SQLite backups. A dump is made with the online backup API (consistent even while the
services write, and it includes what is still in the WAL), never by copying a live file.
A backup file is not live, so restoring one is a byte copy, checked before it is put in
place."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from jobnaut.ops.backups import scratch
from jobnaut.ops.backups.store import fsync_path
from jobnaut.ops.errors import OpsError

SIDE_FILES = ("-wal", "-shm", "-journal")
# Scratch names carry a tag naming the process that made them (see `scratch`).
SCRATCH_DIR_MARK = ".scratch-"
RESTORE_MARK = ".restore-"


@contextlib.contextmanager
def connect(path: Path, *, readonly: bool = True) -> Iterator[sqlite3.Connection]:
    """Open an existing database file (never create one by accident)."""
    if not path.is_file():
        raise OpsError(f"SQLite database {path} does not exist")
    mode = "ro" if readonly else "rw"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise OpsError(f"cannot open SQLite database {path}: {exc}") from None
    try:
        yield conn
    finally:
        conn.close()


def user_tables(conn: sqlite3.Connection) -> list[str]:
    """Every table but SQLite's own and virtual tables with their shadow tables (the
    FTS5 index `jobs_fts`, `jobs_fts_data`, …), which triggers rebuild from `jobs`."""
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    virtual = [name for name, sql in rows
               if (sql or "").lstrip().upper().startswith("CREATE VIRTUAL TABLE")]
    return sorted(
        name for name, _ in rows
        if not name.startswith("sqlite_")
        and not any(name == v or name.startswith(f"{v}_") for v in virtual)
    )


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {table: int(conn.execute(f'SELECT count(*) FROM "{_ident(table)}"').fetchone()[0])
            for table in user_tables(conn)}


def _ident(name: str) -> str:
    return name.replace('"', '""')


def table_counts(path: Path) -> dict[str, int]:
    with connect(path) as conn:
        return counts(conn)


def dump(source: Path, dest: Path) -> dict[str, int]:
    """Back `source` up into the new file `dest`; returns the row counts of the copy."""
    with connect(source) as live:
        copy = sqlite3.connect(dest)
        try:
            live.backup(copy)
            # A standalone file: no WAL for a later reader to create next to the backup.
            copy.execute("PRAGMA journal_mode=DELETE")
            tables = counts(copy)
        except sqlite3.Error as exc:
            raise OpsError(f"SQLite backup of {source} failed: {exc}") from None
        finally:
            copy.close()
    fsync_path(dest)
    return tables


def integrity(path: Path) -> str:
    """"ok", or what `PRAGMA integrity_check` (or opening the file) found wrong."""
    try:
        with connect(path, readonly=False) as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
    except (sqlite3.Error, OpsError) as exc:
        return str(exc)
    problems = [str(r[0]) for r in rows]
    return "ok" if problems == ["ok"] else "; ".join(problems[:5])


def trial_restore(backup: Path, scratch_dir: Path) -> tuple[str, dict[str, int] | None]:
    """Restore to a temporary file in `scratch_dir`: (integrity result, row counts or None)."""
    with scratch_directory(scratch_dir) as workdir:
        copy = workdir / "restored.db"
        shutil.copyfile(backup, copy)
        result = integrity(copy)
        if result != "ok":
            return result, None
        try:
            return result, table_counts(copy)
        except (sqlite3.Error, OpsError) as exc:
            return str(exc), None


def is_empty(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    try:
        with connect(path) as conn:
            return not conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.Error:
        return False


def restore(backup: Path, target: Path) -> None:
    """Put a copy of `backup` at `target`, which must be missing or an empty database."""
    if not is_empty(target):
        raise OpsError(f"restore target {target} is not empty",
                       hint="restore into a new file, then swap it in")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}{RESTORE_MARK}{scratch.tag()}")
    try:
        shutil.copyfile(backup, tmp)
        fsync_path(tmp)
        result = integrity(tmp)
        if result != "ok":
            raise OpsError(f"the restored copy of {backup.name} is damaged: {result}")
        _remove_side_files(target)
        os.replace(tmp, target)
        fsync_path(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
        _remove_side_files(tmp)


@contextlib.contextmanager
def scratch_target(live: Path) -> Iterator[Path]:
    """A path for a new database file beside `live` (same directory, so that swapping it in
    is one rename); removed afterwards unless it was swapped in meanwhile."""
    target = live.with_name(f"{live.name}{RESTORE_MARK}{scratch.tag()}")
    try:
        yield target
    finally:
        target.unlink(missing_ok=True)
        _remove_side_files(target)


@contextlib.contextmanager
def scratch_directory(parent: Path) -> Iterator[Path]:
    """A private directory for throwaway copies, named after this process, removed after."""
    path = parent / f"{SCRATCH_DIR_MARK}{scratch.tag()}"
    parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def remove_orphaned_scratch(directory: Path) -> list[str]:
    """Remove scratch directories and restore targets in `directory` whose creator is gone."""
    removed = []
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        name = path.name
        for suffix in SIDE_FILES:
            name = name.removesuffix(suffix)
        if SCRATCH_DIR_MARK not in name and RESTORE_MARK not in name:
            continue
        if not scratch.orphaned(name):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed


def _remove_side_files(path: Path) -> None:
    for suffix in SIDE_FILES:
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def processes_with_open(path: Path) -> list[int]:
    """Other processes that have the database file (or its WAL) open, from /proc."""
    targets = {str(path.resolve()), f"{path.resolve()}-wal", f"{path.resolve()}-shm"}
    found = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        pid = int(fd_dir.parent.name)
        if pid == os.getpid():
            continue
        try:
            if any(os.readlink(fd) in targets for fd in fd_dir.iterdir()):
                found.append(pid)
        except OSError:  # gone, or not ours to look at
            continue
    return found


def replace(live: Path, restored: Path) -> None:
    """Make `restored` the live database file. The services must be stopped: the live
    file's WAL is discarded, since it belongs to the database being replaced."""
    if not restored.is_file():
        raise OpsError(f"restored database {restored} does not exist")
    if live.resolve() == restored.resolve():
        raise OpsError("the restored database is the live database")
    if live.resolve().parent != restored.resolve().parent:
        raise OpsError(f"{restored} must be in the same directory as {live}",
                       hint="restore next to the live file so that the swap is one rename")
    holders = processes_with_open(live)
    if holders:
        # A process with the file open would go on writing into the replaced inode, and
        # those writes would vanish: refuse rather than lose them.
        raise OpsError(f"{live} is still open in process(es) {', '.join(map(str, holders))}",
                       hint="stop whatever uses the database (`jobnaut status`), then retry")
    # Fold any WAL of the restored file into it, so that it is one self-contained file.
    with connect(restored, readonly=False) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    result = integrity(restored)
    if result != "ok":
        raise OpsError(f"the restored database {restored} is damaged: {result}")
    fsync_path(restored)
    # A WAL or hot journal left beside the live file would be applied to the new one.
    _remove_side_files(live)
    os.replace(restored, live)
    fsync_path(live.parent)
