"""Backup and restore time of JobNaut's backup engine, against the plain tools.

Not a test: it prints figures. For PostgreSQL it loads N generated jobs (and some users)
into a fresh database and times, repeatedly and interleaved, plain `pg_dump --format=custom`
against `create_backup`, plain `pg_restore --no-owner` into an empty database against
`restore_into`, and `verify_backup`. For SQLite, a file holding the same data: a direct
`sqlite3.Connection.backup` copy (and `VACUUM INTO`) against `create_backup`, and a direct
copy into a new file against `restore_into`. The ratios JobNaut ÷ plain are measured in the
same run, on the same data. See bench/README.md.

    .venv/bin/python bench/backup_bench.py [--jobs 100000] [--repeat 3] [--db both]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, text
from sqlalchemy.engine import URL, make_url

from jobnaut.app import schema
from jobnaut.app.accounts.models import Profile, User
from jobnaut.app.accounts.security import hash_password
from jobnaut.app.db import make_engine, make_sessionmaker, transaction
from jobnaut.app.jobs.demo import ROLES, load_generated
from jobnaut.app.saved.models import SavedJob
from jobnaut.config import parse_database_url
from jobnaut.ops.actions.lifecycle import init
from jobnaut.ops.backups import create_backup, restore_into, store, table_counts, verify_backup
from jobnaut.ops.backups import postgres as pg
from jobnaut.ops.backups import sqlite as jobnaut_sqlite
from jobnaut.ops.environment import Home

console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
SAVED_PER_USER = 5
T = TypeVar("T")


class OutOfTime(Exception):
    """The run's time bound (--max-seconds) passed, or the run was asked to stop."""


# --- figures ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One timed operation: its repetitions in seconds, and what it produced."""

    label: str
    seconds: list[float] = field(default_factory=list)
    size: int | None = None  # bytes: the dump, or the restored database
    baseline: Row | None = None  # what the ratio divides by
    note: str = ""

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[float, T]:
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def record(row: Row, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    seconds, result = timed(fn, *args, **kwargs)
    row.seconds.append(seconds)
    return result


def megabytes(size: int | None) -> str:
    return "" if size is None else f"{size / 1e6:,.1f} MB"


def report(title: str, groups: list[list[Row]], parts: list[Row], database_size: int) -> None:
    """One table; each group is a plain baseline followed by what is divided by it. MB/s is
    the size of the database (not of the dump, which is compressed) per median second."""
    table = Table(title=title, title_justify="left")
    for column in ("operation", "runs", "min s", "median s", "output", "db MB/s", "÷ plain min",
                   "÷ plain median"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    for group in groups:
        for row in group:
            rate = f"{database_size / 1e6 / row.median:,.0f}"
            ratio_min = ratio_median = ""
            if row.baseline is not None:
                ratio_min = f"×{row.best / row.baseline.best:.2f}"
                ratio_median = f"×{row.median / row.baseline.median:.2f}"
            table.add_row(row.label, str(len(row.seconds)), f"{row.best:.3f}",
                          f"{row.median:.3f}", megabytes(row.size), rate, ratio_min,
                          ratio_median, end_section=row is group[-1])
    console.print(table)
    for row in (r for group in groups for r in group if r.note):
        console.print(f"  {row.label}: {row.note}")
    if parts:
        console.print("  parts of JobNaut's work, timed on their own (median): " + "; ".join(
            f"{p.label} {p.median:.3f}s" for p in parts))
    console.print()


def load_average() -> float:
    return os.getloadavg()[0]


# --- time bound and cleanup ------------------------------------------------------------------


def _out_of_time(signum: int, _frame: FrameType | None) -> None:
    raise OutOfTime(f"stopped by signal {signal.Signals(signum).name}")


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """SIGALRM after `seconds` (and SIGTERM) raise OutOfTime in the main thread, so every
    `finally` (temporary databases, directories) runs; subprocess.run kills its child."""
    previous = {s: signal.signal(s, _out_of_time) for s in (signal.SIGALRM, signal.SIGTERM)}
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for s, handler in previous.items():
            signal.signal(s, handler)


class Server:
    """The PostgreSQL server of the admin URL; every database this run creates is named
    `<prefix>_…` and dropped at the end, whatever happened."""

    def __init__(self, admin_url: str) -> None:
        self.admin = make_url(admin_url)
        if self.admin.get_backend_name() != "postgresql":
            raise SystemExit(f"--pg-url must be a postgresql:// URL, not {admin_url}")
        if (self.admin.host or "localhost") not in LOOPBACK:
            raise SystemExit(f"--pg-url must point at this machine (loopback), not "
                             f"{self.admin.host}")
        self.prefix = f"jobnaut_bench_{uuid.uuid4().hex[:10]}"
        self.counter = itertools.count(1)

    def connect(self) -> psycopg.Connection[Any]:
        return pg.connect(self.admin)

    def create(self, suffix: str = "") -> URL:
        name = self.prefix + (f"_{suffix}{next(self.counter)}" if suffix else "")
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
                sql.Identifier(name)))
        return self.admin.set(database=name)

    def drop(self, url: URL) -> None:
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(str(url.database))))

    def drop_all(self) -> list[str]:
        with self.connect() as conn:
            names = [r[0] for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (self.prefix.replace("_", r"\_") + "%",)).fetchall()]
            for name in names:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
        return names

    def settle(self) -> None:
        """Untimed, before each timed step: write out what the previous step left dirty,
        so that no step pays for another's checkpoint or page-cache flush."""
        with suppress(psycopg.Error), self.connect() as conn:
            conn.execute("CHECKPOINT")
        os.sync()

    def size(self, url: URL) -> int:
        with self.connect() as conn:
            row = conn.execute("SELECT pg_database_size(%s)", (url.database,)).fetchone()
        return int(row[0]) if row else 0

    def version(self) -> tuple[int, str]:
        with self.connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return conn.info.server_version // 10000, str(row[0]) if row else "?"


def render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


# --- data ------------------------------------------------------------------------------------


def load(database_url: str, jobs: int, users: int, chunk: int = 10_000) -> float:
    """Migrate, load `jobs` demo jobs, `users` users with a profile and saved jobs; returns
    the seconds the load took."""
    engine = make_engine(parse_database_url(database_url))
    try:
        schema.upgrade(engine)
        sessions = make_sessionmaker(engine)
        started = time.perf_counter()

        def progress(loaded: int) -> None:
            if console.is_terminal:
                console.print(f"  loaded {loaded:,} / {jobs:,} jobs "
                              f"({time.perf_counter() - started:.0f}s)", end="\r")

        loaded = load_generated(sessions, jobs, chunk=chunk, progress=progress)
        password = hash_password("bench-password")  # once: argon2 is slow on purpose
        skills = sorted({s for role in ROLES.values() for s in role})
        with transaction(sessions) as db:
            ids = db.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), [
                {"email": f"user{n:06d}@bench.example", "password_hash": password}
                for n in range(users)]).all()
            db.execute(insert(Profile), [
                {"user_id": uid, "experience_level": "mid",
                 "skills": skills[n % len(skills):][:3]} for n, uid in enumerate(ids)])
            saved = [{"user_id": uid, "job_id": 1 + (n * 7919 + k * 104729) % loaded,
                      "status": "saved"}
                     for n, uid in enumerate(ids) for k in range(SAVED_PER_USER)]
            if saved:
                db.execute(insert(SavedJob), saved)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        took = time.perf_counter() - started
        console.print(f"  loaded {loaded:,} jobs and {users:,} users in {took:.1f}s" + " " * 20)
        return took
    finally:
        engine.dispose()


def git_source(directory: Path) -> Path:
    """A tiny git repository with one commit: what `init` wants as a release source."""
    directory.mkdir()
    (directory / "README").write_text("backup benchmark source\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "README"],
                 ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost",
                  "commit", "-q", "-m", "bench"]):
        subprocess.run(argv, cwd=directory, env=env, check=True, capture_output=True,
                       timeout=30)
    return directory


def make_home(workdir: Path, name: str, database_url: str) -> Home:
    source = git_source(workdir / f"source-{name}")
    return init(workdir / f"home-{name}", source=source, database_url=database_url).home


def backup_size(home: Home, backup_id: str) -> int:
    return sum(p.stat().st_size for p in store.backup_dir(home, backup_id).rglob("*")
               if p.is_file())


def run_tool(argv: list[str], env: dict[str, str], timeout: float) -> None:
    result = subprocess.run(argv, env={**os.environ, **env}, capture_output=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({result.returncode}): "
                           f"{result.stderr.decode(errors='replace').strip()[-2000:]}")


# --- PostgreSQL ------------------------------------------------------------------------------


def bench_postgresql(args: argparse.Namespace, workdir: Path) -> None:
    server = Server(args.pg_url)
    major, version = server.version()
    pg_dump, pg_restore = pg.tool("pg_dump", major), pg.tool("pg_restore", major)
    try:
        source = server.create()
        url = render(source)
        load_seconds = load(url, args.jobs, args.users)
        home = make_home(workdir, "postgresql", url)
        counts = table_counts(url)
        env, _ = pg.tool_env(source)
        dumps = workdir / "pg-plain"
        dumps.mkdir()

        plain_dump = Row("pg_dump --format=custom")
        backup = Row("create_backup", baseline=plain_dump,
                     note="the same pg_dump (inside an exported snapshot) + row counts in "
                          "that snapshot, fsync, sha256, manifest")
        plain_restore = Row("pg_restore --no-owner → empty db")
        plain_restore_tx = Row("pg_restore + JobNaut's flags", baseline=plain_restore,
                               note="plain pg_restore --no-owner --single-transaction "
                                    "--exit-on-error, the flags restore_into passes")
        restore = Row("restore_into → empty db", baseline=plain_restore,
                      note="sha256 of the dump, emptiness check, pg_restore with those "
                           "flags, row counts compared with the manifest")
        verify = Row("verify_backup", baseline=plain_restore,
                     note="sha256, pg_restore --list, CREATE DATABASE + restore into a "
                          "scratch database, row counts, DROP DATABASE")
        parts = [Row("sha256 of the dump"), Row("row counts (source)"),
                 Row("row counts (restored)")]

        def plain_pg_dump(out: Path) -> None:
            run_tool([pg_dump, "--no-password", "--format=custom", "-f", str(out),
                      f"--dbname={pg.conninfo(source)}"], env, args.tool_timeout)

        def plain_pg_restore(archive: Path, target: URL, *extra: str) -> None:
            run_tool([pg_restore, "--no-password", "--no-owner", *extra,
                      f"--dbname={pg.conninfo(target)}", str(archive)], env,
                     args.tool_timeout)

        def jobnaut_backup() -> store.Manifest:
            return create_backup(home, url, kind="manual", release=None,
                                 schema_revision=None, directory_format=False)

        plain_pg_dump(workdir / "warm-up.dump")  # unrecorded: reads the tables into cache
        (workdir / "warm-up.dump").unlink()
        load_before = load_average()
        for rep in range(args.repeat):
            console.print(f"  repetition {rep + 1} of {args.repeat}")
            archive = dumps / f"plain-{rep}.dump"
            # Alternate which side goes first, so that neither always meets the warmer cache.
            manifest: store.Manifest | None = None
            for first in ([True, False] if rep % 2 == 0 else [False, True]):
                server.settle()
                if first:
                    record(plain_dump, plain_pg_dump, archive)
                else:
                    manifest = record(backup, jobnaut_backup)
            assert manifest is not None
            plain_dump.size = archive.stat().st_size
            backup.size = backup_size(home, manifest.id)
            record(parts[0], store.checksum, store.dump_path(home, manifest))
            record(parts[1], table_counts, url)

            order = [plain_restore, plain_restore_tx, restore]
            for row in order if rep % 2 == 0 else order[::-1]:
                target = server.create("r")
                try:
                    server.settle()
                    if row is plain_restore:
                        record(row, plain_pg_restore, archive, target)
                    elif row is plain_restore_tx:
                        record(row, plain_pg_restore, archive, target, "--single-transaction",
                               "--exit-on-error")
                    else:
                        record(row, restore_into, home, manifest.id, render(target))
                    restored = record(parts[2], table_counts, render(target)) \
                        if row is restore else table_counts(render(target))
                    if restored != counts:
                        raise RuntimeError(f"{row.label} restored {restored}, not {counts}")
                    row.size = server.size(target)
                finally:
                    server.drop(target)

            server.settle()
            result = record(verify, verify_backup, home, manifest.id,
                            scratch_admin_url=render(server.admin))
            if not result.ok:
                raise RuntimeError(f"verify_backup failed: {result.reason}")
            archive.unlink()
        load_after = load_average()
        size = server.size(source)
    finally:
        dropped = server.drop_all()
    rows = counts.get("jobs", 0), counts.get("job_skills", 0), counts.get("users", 0)
    report(f"PostgreSQL {version} ({pg_dump}): {rows[0]:,} jobs, {rows[1]:,} job skills, "
           f"{rows[2]:,} users, database {size / 1e6:,.0f} MB (loaded in {load_seconds:.0f}s); "
           f"{args.repeat} runs each; load average {load_before:.1f} → {load_after:.1f}",
           [[plain_dump, backup], [plain_restore, plain_restore_tx, restore, verify]], parts,
           size)
    console.print(f"  dropped {len(dropped)} temporary database(s): {', '.join(dropped)}\n")


# --- SQLite ----------------------------------------------------------------------------------


def sqlite_copy(source: Path, dest: Path) -> None:
    """The baseline: the online backup API, called directly."""
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        out = sqlite3.connect(dest)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()


def vacuum_into(source: Path, dest: Path) -> None:
    src = sqlite3.connect(source)
    try:
        src.execute("VACUUM INTO ?", (str(dest),))
    finally:
        src.close()


def settle_files() -> None:
    os.sync()


def bench_sqlite(args: argparse.Namespace, workdir: Path) -> None:
    data = workdir / "sqlite"
    data.mkdir()
    source = data / "jobnaut.db"
    url = f"sqlite:///{source}"
    load_seconds = load(url, args.jobs, args.users)
    with closing(sqlite3.connect(source)) as conn:  # a settled file: the WAL folded in
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    home = make_home(workdir, "sqlite", url)
    counts = table_counts(url)
    copies = data / "copies"
    copies.mkdir()

    plain_backup = Row("sqlite3 Connection.backup → new file")
    vacuum = Row("VACUUM INTO new file", baseline=plain_backup)
    backup = Row("create_backup", baseline=plain_backup,
                 note="the same backup API + journal_mode=DELETE, row counts, fsync, "
                      "sha256, manifest")
    plain_restore = Row("Connection.backup: backup → new file")
    byte_copy = Row("shutil.copyfile: backup → new file", baseline=plain_restore)
    restore = Row("restore_into → new file", baseline=plain_restore,
                  note="sha256 of the backup, byte copy, fsync, integrity_check, rename, "
                       "row counts compared with the manifest")
    verify = Row("verify_backup", baseline=plain_restore,
                 note="sha256, byte copy to a scratch file, integrity_check, row counts")
    parts = [Row("sha256 of the backup"), Row("integrity_check"), Row("row counts")]

    def jobnaut_backup() -> store.Manifest:
        return create_backup(home, url, kind="manual", release=None, schema_revision=None)

    sqlite_copy(source, copies / "warm-up.db")  # unrecorded: reads the file into cache
    (copies / "warm-up.db").unlink()
    load_before = load_average()
    for rep in range(args.repeat):
        console.print(f"  repetition {rep + 1} of {args.repeat}")
        plain_file, vacuum_file = copies / f"plain-{rep}.db", copies / f"vacuum-{rep}.db"
        manifest: store.Manifest | None = None
        order = [plain_backup, vacuum, backup]
        for row in order if rep % 2 == 0 else order[::-1]:
            settle_files()
            if row is plain_backup:
                record(row, sqlite_copy, source, plain_file)
            elif row is vacuum:
                record(row, vacuum_into, source, vacuum_file)
            else:
                manifest = record(row, jobnaut_backup)
        assert manifest is not None
        plain_backup.size = plain_file.stat().st_size
        vacuum.size = vacuum_file.stat().st_size
        backup.size = backup_size(home, manifest.id)
        dump_file = store.dump_path(home, manifest)
        record(parts[0], store.checksum, dump_file)
        vacuum_file.unlink()

        targets = {plain_restore.label: copies / f"restored-{rep}-api.db",
                   byte_copy.label: copies / f"restored-{rep}-copy.db",
                   restore.label: copies / f"restored-{rep}-jobnaut.db"}
        order = [plain_restore, byte_copy, restore]
        for row in order if rep % 2 == 0 else order[::-1]:
            target = targets[row.label]
            settle_files()
            if row is plain_restore:
                record(row, sqlite_copy, dump_file, target)
            elif row is byte_copy:
                record(row, shutil.copyfile, dump_file, target)
            else:
                record(row, restore_into, home, manifest.id, f"sqlite:///{target}")
            restored = table_counts(f"sqlite:///{target}")
            if restored != counts:
                raise RuntimeError(f"{row.label} restored {restored}, not {counts}")
            row.size = target.stat().st_size
        record(parts[1], jobnaut_sqlite.integrity, targets[restore.label])
        record(parts[2], table_counts, f"sqlite:///{targets[restore.label]}")
        for target in targets.values():
            target.unlink()

        settle_files()
        result = record(verify, verify_backup, home, manifest.id)
        if not result.ok:
            raise RuntimeError(f"verify_backup failed: {result.reason}")
        plain_file.unlink()
    load_after = load_average()
    report(f"SQLite {sqlite3.sqlite_version}: {counts.get('jobs', 0):,} jobs, "
           f"{counts.get('job_skills', 0):,} job skills, {counts.get('users', 0):,} users, "
           f"file {source.stat().st_size / 1e6:,.0f} MB (loaded in {load_seconds:.0f}s); "
           f"{args.repeat} runs each; load average {load_before:.1f} → {load_after:.1f}",
           [[plain_backup, vacuum, backup], [plain_restore, byte_copy, restore, verify]], parts,
           source.stat().st_size)


# --- the run ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs to load (100000)")
    parser.add_argument("--users", type=int, default=None,
                        help=f"users, each with a profile and {SAVED_PER_USER} saved jobs "
                             "(jobs ÷ 100, at least 10)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each operation (3)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("JOBNAUT_BENCH_PG_URL", DEFAULT_PG),
                        help="PostgreSQL admin URL on this machine; temporary databases are "
                             "made on it")
    parser.add_argument("--max-seconds", type=float, default=3600.0,
                        help="time bound for the whole run; cleans up and stops (3600)")
    parser.add_argument("--tool-timeout", type=float, default=900.0,
                        help="time bound for each plain pg_dump / pg_restore (900)")
    args = parser.parse_args()
    if args.jobs < 1 or args.repeat < 1:
        parser.error("--jobs and --repeat must be at least 1")
    args.users = args.users if args.users is not None else max(10, args.jobs // 100)
    kinds = ["postgresql", "sqlite"] if args.db == "both" else [args.db]

    console.print(f"JobNaut backup benchmark: {args.jobs:,} jobs, {args.users:,} users, "
                  f"{args.repeat} runs, python {sys.version.split()[0]}, "
                  f"{os.cpu_count()} CPUs, load average "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    started = time.perf_counter()
    try:
        with bounded(args.max_seconds), \
                tempfile.TemporaryDirectory(prefix="jobnaut-backup-bench-") as tmp:
            for kind in kinds:
                console.print(f"[bold]{kind}[/]")
                (bench_postgresql if kind == "postgresql" else bench_sqlite)(args, Path(tmp))
    except OutOfTime as exc:
        console.print(f"[red]stopped after {time.perf_counter() - started:.0f}s: {exc} "
                      f"(--max-seconds {args.max_seconds:.0f}); cleaned up[/]")
        return 1
    console.print(f"total {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
