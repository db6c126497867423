"""The backup engine on real databases: SQLite files and PostgreSQL with the real
pg_dump/pg_restore. Each test gets its own database with the JobNaut schema and data."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from jobnaut.app import schema
from jobnaut.app.db import make_engine, make_sessionmaker
from jobnaut.app.jobs.demo import generate_jobs, load_jobs
from jobnaut.config import parse_database_url
from jobnaut.ops import backups, commands
from jobnaut.ops.actions import lifecycle
from jobnaut.ops.backups import postgres as pg
from jobnaut.ops.backups.diff import discarded_by_restore
from jobnaut.ops.environment import Home
from jobnaut.ops.errors import OpsError
from tests.support.databases import PostgresServer

pytestmark = pytest.mark.timeout(120)

USERS = ["ada@example.com", "grace@example.com", "linus@example.com"]


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("tiny") / "repo"
    repo.mkdir()
    (repo / "README").write_text("a source for `jobnaut init`\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "one"]):
        subprocess.run(["git", "-C", str(repo), *argv], check=True, env=env, capture_output=True)
    return repo


@pytest.fixture
def live(database_url: str) -> str:
    """A database with the schema, 50 jobs, 3 users and a table without a primary key."""
    engine = make_engine(parse_database_url(database_url))
    try:
        schema.upgrade(engine)
        with make_sessionmaker(engine)() as db, db.begin():
            load_jobs(db, generate_jobs(50, seed=11))
        with engine.begin() as conn:
            for email in USERS:
                conn.execute(text("INSERT INTO users (email, password_hash) VALUES (:e, 'x')"),
                             {"e": email})
            conn.execute(text("CREATE TABLE audit_notes (note VARCHAR(50), n INTEGER)"))
            conn.execute(text("INSERT INTO audit_notes VALUES ('same', 1), ('same', 1), "
                              "('other', 2)"))
    finally:
        engine.dispose()
    return database_url


@pytest.fixture
def home(tmp_path: Path, live: str, tiny_repo: Path) -> Home:
    return lifecycle.init(tmp_path / "home", source=tiny_repo, database_url=live).home


def execute(url: str, *statements: str, **params: Any) -> None:
    engine = make_engine(parse_database_url(url))
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement), params)
    finally:
        engine.dispose()


def query(url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = make_engine(parse_database_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(statement), params)]
    finally:
        engine.dispose()


def is_pg(url: str) -> bool:
    return url.startswith("postgresql")


def pg_databases(url: str) -> set[str]:
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}


def dump_of(home: Home, manifest: backups.Manifest) -> Path:
    return home.backups / manifest.id / manifest.file


def snapshot(url: str) -> dict[str, Any]:
    return {"counts": backups.table_counts(url),
            "users": query(url, "SELECT id, email FROM users ORDER BY id"),
            "titles": query(url, "SELECT id, title FROM jobs ORDER BY id")}


# --- create, list, verify ------------------------------------------------------------------


def test_create_records_counts_checksum_and_size(home: Home, live: str) -> None:
    m = backups.create_backup(home, live, kind="pre-deploy", release="v3", schema_revision=None)

    assert re.fullmatch(r"\d{8}T\d{6}Z-predeploy-v3", m.id)
    assert m.tables == backups.table_counts(live)
    assert m.tables["jobs"] == 50 and m.tables["users"] == 3
    assert m.tables["audit_notes"] == 3 and m.tables["alembic_version"] == 1
    assert m.tables["job_skills"] > 50
    assert not any(t.startswith(("jobs_fts", "sqlite_")) for t in m.tables)
    assert m.schema_revision == schema.expected_revision()
    assert (m.environment, m.kind, m.release) == ("local", "pre-deploy", "v3")
    if is_pg(live):
        assert (m.engine, m.format, m.file) == ("postgresql", "custom", "database.dump")
        assert m.wal_lsn and re.fullmatch(r"[0-9A-F]+/[0-9A-F]+", m.wal_lsn)
    else:
        assert (m.engine, m.format, m.wal_lsn) == ("sqlite", "sqlite", None)

    dump = dump_of(home, m)
    assert m.size == dump.stat().st_size
    assert m.sha256 == hashlib.sha256(dump.read_bytes()).hexdigest()
    on_disk = json.loads((dump.parent / "manifest.json").read_text())
    assert on_disk == {k: v for k, v in m.as_json().items() if k != "verified_at"}
    assert dump.stat().st_mode & 0o777 == 0o600
    assert dump.parent.stat().st_mode & 0o777 == 0o700
    assert not [p for p in home.backups.iterdir() if p.name.endswith(".partial")]

    assert backups.list_backups(home) == [m]
    assert backups.get_backup(home, m.id) == m

    result = backups.verify_backup(home, m.id)
    assert result.ok, result.checks
    names = [name for name, _, _ in result.checks]
    assert names[0] == "checksum" and "test restore" in names and "row counts" in names
    listed = backups.list_backups(home)[0]
    assert listed.verified_at is not None and listed.id == m.id


def test_list_is_newest_first_and_ids_unique(home: Home, live: str) -> None:
    first = backups.create_backup(home, live, kind="manual", release=None, schema_revision="x")
    second = backups.create_backup(home, live, kind="manual", release=None, schema_revision="x")
    assert first.id != second.id and first.schema_revision == "x"
    assert [m.id for m in backups.list_backups(home)] == [second.id, first.id]
    with pytest.raises(OpsError, match="unknown backup kind"):
        backups.create_backup(home, live, kind="weekly", release=None, schema_revision=None)


def test_sqlite_backup_includes_what_is_still_in_the_wal(home: Home, live: str) -> None:
    if is_pg(live):
        pytest.skip("SQLite only")
    engine = make_engine(parse_database_url(live))
    try:
        with engine.connect() as holder:  # keeps the WAL from being checkpointed away
            holder.execute(text("SELECT 1"))
            execute(live, "INSERT INTO users (email) VALUES ('wal@example.com')")
            wal = Path(str(parse_database_url(live).database) + "-wal")
            assert wal.stat().st_size > 0
            m = backups.create_backup(home, live, kind="manual", release=None,
                                      schema_revision=None)
    finally:
        engine.dispose()
    assert m.tables["users"] == 4
    assert backups.verify_backup(home, m.id).ok


def test_postgres_directory_format(home: Home, live: str) -> None:
    if not is_pg(live):
        pytest.skip("PostgreSQL only")
    m = backups.create_backup(home, live, kind="manual", release=None, schema_revision=None,
                              directory_format=True)
    assert (m.format, m.file) == ("directory", "database.dir")
    files = sorted(p for p in dump_of(home, m).rglob("*") if p.is_file())
    listing = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  "
                      f"{p.relative_to(dump_of(home, m))}\n" for p in files)
    assert m.sha256 == hashlib.sha256(listing.encode()).hexdigest()
    assert m.size == sum(p.stat().st_size for p in files)
    assert backups.verify_backup(home, m.id).ok

    victim = max(files, key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    result = backups.verify_backup(home, m.id)
    assert not result.ok and "sha256 mismatch" in result.reason


def test_password_travels_in_the_environment_never_in_argv(
        home: Home, live: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not is_pg(live):
        pytest.skip("PostgreSQL only")
    calls: list[tuple[list[str], dict[str, str], list[str]]] = []
    real_run = pg.runner.run

    def recording_run(argv: list[str], *, env: dict[str, str] | None = None,
                      secrets: list[str] | tuple[str, ...] = (), **kw: Any) -> str:
        calls.append((list(argv), dict(env or {}), list(secrets)))
        return real_run(argv, env=env, secrets=secrets, **kw)

    real_run_into = pg.runner.run_into

    def recording_run_into(argv: list[str], output: Path, *,
                           env: dict[str, str] | None = None,
                           secrets: list[str] | tuple[str, ...] = (),
                           **kw: Any) -> tuple[int, str]:
        calls.append((list(argv), dict(env or {}), list(secrets)))
        return real_run_into(argv, output, env=env, secrets=secrets, **kw)

    monkeypatch.setattr(pg.runner, "run", recording_run)
    monkeypatch.setattr(pg.runner, "run_into", recording_run_into)
    password = "s3cret-Pa55"  # the server trusts 127.0.0.1, so any password connects
    with_password = make_url(live).set(password=password).render_as_string(hide_password=False)
    m = backups.create_backup(home, with_password, kind="manual", release=None,
                              schema_revision=None)
    with backups.scratch_target(with_password) as target:
        backups.restore_into(home, m.id, target)
    dumped = [c for c in calls if c[0][0].endswith("pg_dump")]
    restored = [c for c in calls if c[0][0].endswith("pg_restore")]
    assert dumped and restored
    for argv, env, secrets in dumped + restored:
        assert not any(password in arg for arg in argv)
        assert env == {"PGPASSWORD": password} and secrets == [password]


# --- damaged and half-written backups ------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "flipped byte"])
def test_damaged_backup_fails_verify_and_is_never_restored(home: Home, live: str,
                                                           damage: str) -> None:
    m = backups.create_backup(home, live, kind="manual", release=None, schema_revision=None)
    assert backups.verify_backup(home, m.id).ok
    dump = dump_of(home, m)
    data = dump.read_bytes()
    if damage == "truncated":
        dump.write_bytes(data[: len(data) // 2])
    else:
        middle = len(data) // 2
        dump.write_bytes(data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:])
    before = snapshot(live)

    result = backups.verify_backup(home, m.id)
    assert not result.ok
    assert result.checks[0][0] == "checksum" and not result.checks[0][1]
    reason = "truncated" if damage == "truncated" else "sha256 mismatch"
    assert reason in result.reason
    assert backups.list_backups(home)[0].verified_at is None  # no longer counts as verified

    with backups.scratch_target(live) as target:
        with pytest.raises(OpsError, match="cannot be trusted"):
            backups.restore_into(home, m.id, target)
        if is_pg(live):  # created empty beside the live one, and still empty
            assert backups.table_counts(target) == {}
        else:
            assert not Path(str(make_url(target).database)).exists()
    assert snapshot(live) == before


def test_half_written_backups_are_not_listed(home: Home, live: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    complete = backups.create_backup(home, live, kind="manual", release=None,
                                     schema_revision=None)

    # A create that fails half-way leaves nothing: no backup listed, no .partial.
    def broken_fsync(path: Path) -> None:
        raise OSError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(backups.store, "fsync_tree", broken_fsync)
        with pytest.raises(OSError, match="disk on fire"):
            backups.create_backup(home, live, kind="manual", release=None, schema_revision=None)
    assert [p.name for p in home.backups.iterdir() if not p.name.startswith(".")] == \
        [complete.id]

    partial = home.backups / "20260101T000000Z-manual.partial"
    partial.mkdir()
    (partial / "database.dump").write_bytes(b"half a dump")
    no_manifest = home.backups / "20260101T000001Z-manual"
    no_manifest.mkdir()
    (no_manifest / "database.dump").write_bytes(b"a dump without a manifest")
    bad_manifest = home.backups / "20260101T000002Z-manual"
    bad_manifest.mkdir()
    (bad_manifest / "manifest.json").write_text('{"id": "20260101T000002Z-man')

    assert backups.list_backups(home) == [complete]
    for backup_id in ("20260101T000000Z-manual", no_manifest.name, bad_manifest.name):
        with pytest.raises(OpsError, match="incomplete"):
            backups.get_backup(home, backup_id)
    with pytest.raises(OpsError, match="does not exist"):
        backups.get_backup(home, "20260101T000003Z-manual")
    with pytest.raises(OpsError, match="not a backup id"):
        backups.get_backup(home, "../ledger")

    # The next create removes the .partial an interrupted one left.
    backups.create_backup(home, live, kind="manual", release=None, schema_revision=None)
    assert not partial.exists()
    assert len(backups.list_backups(home)) == 2


# --- restore side by side, then swap -------------------------------------------------------


def test_restore_side_by_side_and_swap(home: Home, live: str) -> None:
    m = backups.create_backup(home, live, kind="pre-deploy", release="v1",
                              schema_revision=None)
    at_backup = snapshot(live)
    execute(live, "INSERT INTO users (email) VALUES ('late@example.com')",
            "UPDATE jobs SET title = 'Changed' WHERE id = (SELECT min(id) FROM jobs)",
            "DELETE FROM jobs WHERE id = (SELECT max(id) FROM jobs)")
    changed = snapshot(live)
    assert changed != at_backup

    with pytest.raises(OpsError, match="not empty"):
        backups.restore_into(home, m.id, live)
    with backups.scratch_target(live) as target:
        backups.restore_into(home, m.id, target)
        assert backups.table_counts(target) == m.tables
        assert snapshot(live) == changed  # the live database is untouched until the swap
        backups.replace_database(live, target)

    assert snapshot(live) == at_backup
    assert backups.table_counts(live) == m.tables
    # The services' own engine works on the swapped-in database (search index included).
    found = query(live, "SELECT count(*) FROM jobs WHERE title = 'Changed'")
    assert found == [(0,)]
    if is_pg(live):
        name = str(make_url(live).database)
        assert not [d for d in pg_databases(live) if d.startswith(name) and d != name]
    else:
        live_file = Path(str(make_url(live).database))
        assert not [p for p in live_file.parent.iterdir() if ".restore-" in p.name]
        hits = query(live, "SELECT count(*) FROM jobs_fts WHERE jobs_fts MATCH 'engineer'")
        assert hits[0][0] > 0


# --- compare and export --------------------------------------------------------------------


def test_compare_backups_reports_exactly_the_changed_rows(home: Home, live: str,
                                                          tmp_path: Path) -> None:
    older = backups.create_backup(home, live, kind="pre-deploy", release="v1",
                                  schema_revision=None)
    (first_job, title), = query(live, "SELECT id, title FROM jobs ORDER BY id LIMIT 1")
    (last_job,), = query(live, "SELECT max(id) FROM jobs")
    skills = {r[0] for r in query(live, "SELECT skill FROM job_skills WHERE job_id = :j",
                                  j=last_job)}
    execute(live, "INSERT INTO users (email, password_hash) VALUES ('new@example.com', 'h')",
            "UPDATE jobs SET title = 'Staff Wizard' WHERE id = :first",
            "DELETE FROM jobs WHERE id = :last",  # its job_skills go with it (cascade)
            "INSERT INTO audit_notes VALUES ('same', 1), ('fresh', 3)",
            "DELETE FROM audit_notes WHERE note = 'other'",
            first=first_job, last=last_job)
    newer = backups.create_backup(home, live, kind="safety", release="v2",
                                  schema_revision=None)

    diff = backups.compare_backups(home, older.id, newer.id)

    assert diff["users"].counts() == {"inserted": 1, "updated": 0, "deleted": 0}
    assert diff["users"].inserted[0]["email"] == "new@example.com"
    assert diff["users"].primary_key == ["id"]
    jobs = diff["jobs"]
    assert jobs.counts() == {"inserted": 0, "updated": 1, "deleted": 1}
    before, after = jobs.updated[0]
    assert (before["id"], before["title"], after["title"]) == (first_job, title, "Staff Wizard")
    assert {k for k in before if before[k] != after[k]} == {"title"}
    assert jobs.deleted[0]["id"] == last_job
    assert "search_vector" not in before  # generated columns are not compared
    job_skills = diff["job_skills"]
    assert job_skills.counts() == {"inserted": 0, "updated": 0, "deleted": len(skills)}
    assert {r["skill"] for r in job_skills.deleted} == skills
    notes = diff["audit_notes"]  # no primary key: a multiset of rows
    assert notes.primary_key == []
    assert sorted((r["note"], r["n"]) for r in notes.inserted) == [("fresh", 3), ("same", 1)]
    assert [(r["note"], r["n"]) for r in notes.deleted] == [("other", 2)]
    untouched = {t for t, d in diff.items() if d.changed == 0}
    assert untouched == set(older.tables) - {"users", "jobs", "job_skills", "audit_notes"}
    assert "alembic_version" in untouched

    written = backups.export_diff(diff, tmp_path / "json")
    assert sorted(p.name for p in written) == sorted([
        "users.inserted.json", "jobs.updated.json", "jobs.deleted.json",
        "job_skills.deleted.json", "audit_notes.inserted.json", "audit_notes.deleted.json"])
    users = json.loads((tmp_path / "json" / "users.inserted.json").read_text())
    assert [u["email"] for u in users] == ["new@example.com"]
    updated = json.loads((tmp_path / "json" / "jobs.updated.json").read_text())
    assert updated[0]["before"]["title"] == title
    assert updated[0]["after"]["title"] == "Staff Wizard"
    assert json.loads((tmp_path / "json" / "jobs.deleted.json").read_text())[0]["id"] == last_job

    written = backups.export_diff(diff, tmp_path / "csv", fmt="csv")
    assert len(written) == 6
    with (tmp_path / "csv" / "jobs.updated.csv").open() as f:
        (row,) = list(csv.DictReader(f))
    assert (row["before.id"], row["before.title"], row["after.title"]) == \
        (str(first_job), title, "Staff Wizard")
    with (tmp_path / "csv" / "job_skills.deleted.csv").open() as f:
        assert {r["skill"] for r in csv.DictReader(f)} == skills
    with pytest.raises(OpsError, match="unknown export format"):
        backups.export_diff(diff, tmp_path / "x", fmt="xml")


def test_a_column_only_the_newer_backup_has_is_reported_and_its_rows_counted(
        home: Home, live: str, tmp_path: Path) -> None:
    older = backups.create_backup(home, live, kind="pre-deploy", release="v1",
                                  schema_revision=None)
    execute(live, "ALTER TABLE users ADD COLUMN nickname VARCHAR(80)",
            "UPDATE users SET nickname = 'countess' WHERE email = 'ada@example.com'",
            "INSERT INTO users (email, password_hash, nickname) "
            "VALUES ('new@example.com', 'h', 'newbie')")
    newer = backups.create_backup(home, live, kind="safety", release="v2", schema_revision=None)

    diff = backups.compare_backups(home, older.id, newer.id)

    users = diff["users"]
    assert users.columns_added == ["nickname"]
    assert users.added_column_values == {"nickname": 2}
    # Ada's row is unchanged but for the new column: a restore loses her nickname.
    assert users.counts() == {"inserted": 1, "updated": 1, "deleted": 0}
    before, after = users.updated[0]
    assert (before["email"], before["nickname"], after["nickname"]) == \
        ("ada@example.com", None, "countess")
    assert users.inserted[0]["nickname"] == "newbie"
    lost = discarded_by_restore(diff)
    assert lost.rows == 2
    assert lost.describe() == ("users: 1 inserted/1 updated (newer-only column nickname: 2 "
                               "rows with a value)")
    backups.export_diff(diff, tmp_path / "json")
    exported = json.loads((tmp_path / "json" / "users.updated.json").read_text())
    assert exported[0]["after"]["nickname"] == "countess"

    shown = subprocess.run([sys.executable, "-m", "jobnaut", "--home", str(home.root), "backup",
                            "diff", older.id, newer.id, "--out", str(tmp_path / "cli")],
                           capture_output=True, text=True, timeout=120, check=True)
    assert "users: 1 inserted/1 updated (newer-only column nickname: 2 rows with a value)" \
        in shown.stdout


# --- pruning -------------------------------------------------------------------------------


def _fake_backup(home: Home, name: str, kind: str, age_days: float, verified: bool) -> str:
    created = datetime.now(UTC) - timedelta(days=age_days)
    backup_id = f"{created:%Y%m%dT%H%M%SZ}-{kind.replace('-', '')}-{name}"
    directory = home.backups / backup_id
    directory.mkdir(parents=True)
    (directory / "database.sqlite3").write_bytes(b"x")
    manifest = backups.Manifest(
        id=backup_id, environment="test", kind=kind, release=None, schema_revision=None,
        created_at=created.isoformat(), engine="sqlite", format="sqlite",
        file="database.sqlite3", size=1, sha256=hashlib.sha256(b"x").hexdigest(), tables={},
        wal_lsn=None)
    data = manifest.as_json()
    del data["verified_at"]
    (directory / "manifest.json").write_text(json.dumps(data))
    if verified:
        (directory / "verified.json").write_text(json.dumps({"verified_at": created.isoformat()}))
    return backup_id


def test_prune_plan_honours_keep_protected_and_retention(tmp_path: Path,
                                                         tiny_repo: Path) -> None:
    home = lifecycle.init(tmp_path / "home", source=tiny_repo).home
    ids = {name: _fake_backup(home, name, kind, age, verified) for name, kind, age, verified in [
        ("a", "manual", 40, True),           # old and verified, beyond keep: goes
        ("b", "pre-deploy", 35, True),       # a kept release's backup: stays
        ("c", "safety", 30, False),          # safety, but older than the window: goes
        ("d", "pre-downgrade", 3, False),    # within the retention window: stays
        ("e", "manual", 2.5, False),         # unverified, older than the kept set: goes
        ("f", "manual", 2, True),            # 2nd newest verified: kept
        ("g", "manual", 1, False),           # unverified, newer than the kept set: stays
        ("h", "pre-deploy", 0.5, True),      # newest verified: kept
    ]}

    plan = backups.prune_plan(home, keep=2, protected={ids["b"]}, safety_retention_days=7)
    assert [m.id for m in plan] == [ids["e"], ids["c"], ids["a"]]
    plan_short_retention = backups.prune_plan(home, keep=2, protected={ids["b"]},
                                              safety_retention_days=1)
    assert ids["d"] in {m.id for m in plan_short_retention}
    assert backups.prune_plan(home, keep=4, protected=set(), safety_retention_days=7) == []
    assert backups.prune_plan(home, keep=5, protected=set(), safety_retention_days=7) == []
    with pytest.raises(OpsError):
        backups.prune_plan(home, keep=0, protected=set(), safety_retention_days=7)

    backups.delete_backups(home, plan)
    assert {m.id for m in backups.list_backups(home)} == \
        {ids[n] for n in ("b", "d", "f", "g", "h")}
    assert not (home.backups / ids["a"]).exists()
    assert not [p for p in home.backups.iterdir() if p.name.endswith(".deleting")]


# --- the pieces ----------------------------------------------------------------------------


def test_argv_builders() -> None:
    info = "host=db port=5432 user=app dbname=jobnaut"
    assert commands.pg_dump(info, Path("/b/database.dump"), snapshot="00000003-1",
                            binary="/usr/lib/postgresql/15/bin/pg_dump") == [
        "/usr/lib/postgresql/15/bin/pg_dump", "--no-password", f"--dbname={info}",
        "--file=/b/database.dump", "--format=custom", "--snapshot=00000003-1"]
    assert commands.pg_dump(info, None) == [  # to standard output
        "pg_dump", "--no-password", f"--dbname={info}", "--format=custom"]
    assert commands.pg_dump(info, Path("/b/database.dir"), directory=True, jobs=4) == [
        "pg_dump", "--no-password", f"--dbname={info}", "--file=/b/database.dir",
        "--format=directory", "--jobs=4"]
    assert commands.pg_restore(info, Path("/b/database.dump")) == [
        "pg_restore", "--no-password", "--no-owner", "--exit-on-error", f"--dbname={info}",
        "--single-transaction", "/b/database.dump"]
    assert commands.pg_restore(info, Path("/b/database.dir"), jobs=3)[-2:] == [
        "--jobs=3", "/b/database.dir"]
    assert commands.pg_restore_list(Path("/b/d.dump")) == ["pg_restore", "--list", "/b/d.dump"]


def test_connection_string_holds_no_password() -> None:
    url = make_url("postgresql+psycopg://app:hunter2@db.internal:6543/jobnaut?sslmode=require")
    info = pg.conninfo(url)
    assert "hunter2" not in info
    assert set(info.split()) == {"host=db.internal", "port=6543", "user=app",
                                 "dbname=jobnaut", "sslmode=require"}
    assert pg.tool_env(url) == ({"PGPASSWORD": "hunter2"}, ["hunter2"])


def test_client_tools_match_the_server_major(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "17" / "bin").mkdir(parents=True)
    (tmp_path / "17" / "bin" / "pg_dump").write_text("#!/bin/sh\n")
    monkeypatch.setattr(pg, "PG_LIB", tmp_path)
    assert pg.tool("pg_dump", 17) == str(tmp_path / "17" / "bin" / "pg_dump")
    assert pg.tool("pg_dump", 16) != str(tmp_path / "16" / "bin" / "pg_dump")


def test_scratch_database_is_dropped(postgres: PostgresServer) -> None:
    if postgres.admin_url is None:
        pytest.skip(f"PostgreSQL unavailable: {postgres.reason}")
    conn = None
    try:
        with backups.scratch_database(postgres.admin_url) as url:
            name = str(make_url(url).database)
            assert name.startswith("jobnaut_scratch_") and name in pg_databases(url)
            conn = psycopg.connect(url, autocommit=True)  # left open: must not block the drop
            conn.execute("CREATE TABLE t (x int)")
            assert backups.table_counts(url) == {"t": 0}
        assert name not in pg_databases(postgres.admin_url)
    finally:
        if conn is not None:
            conn.close()


def test_sqlite_swap_is_refused_while_another_process_has_the_file_open(
        tmp_path: Path) -> None:
    live, restored = tmp_path / "live.db", tmp_path / "restored.db"
    for path, value in ((live, "live"), (restored, "restored")):
        execute(f"sqlite:///{path}", "CREATE TABLE t (v TEXT)", f"INSERT INTO t VALUES ('{value}')")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); "
         "c.execute('SELECT 1').fetchall(); print('open', flush=True); time.sleep(60)",
         str(live)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(OpsError, match="still open"):
            backups.replace_database(f"sqlite:///{live}", f"sqlite:///{restored}")
    finally:
        holder.kill()
        holder.wait()
    assert sqlite_value(live) == "live"  # untouched
    backups.replace_database(f"sqlite:///{live}", f"sqlite:///{restored}")
    assert sqlite_value(live) == "restored"


def sqlite_value(path: Path) -> str:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return str(conn.execute("SELECT v FROM t").fetchone()[0])
