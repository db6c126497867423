"""A killed `jobnaut` leaves nothing running and no copy of users' data behind: its schema
child dies with it, `--resume` and `abandon` kill whatever survived, drop its scratch
databases, stop the candidates of an abandoned release and mark that release failed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from jobnaut.ops import children, pids
from jobnaut.ops.backups import core, scratch
from jobnaut.ops.backups import postgres as pg
from jobnaut.ops.context import Env
from jobnaut.ops.environment import Home, OpsConfig
from tests.ops.conftest import Environment, SourceRepo
from tests.ops.test_database_rollback import commit_migration, database_url, revision
from tests.ops.test_deploy_and_rollback import _wait_for_step
from tests.support.databases import PostgresServer

# Writes first (on SQLite it then holds the database's write lock), then takes its time.
SLOW = dict(
    doc="a slow migration",
    upgrade='    op.create_table("slow_notes", sa.Column("id", sa.Integer, primary_key=True))\n'
            '    import time\n'
            '    time.sleep(6)',
    downgrade='    op.drop_table("slow_notes")')


def _jobnaut(env: Environment, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "jobnaut", "--home", str(env.home), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _until(predicate: Callable[[], object], timeout: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout}s: {what}")


def _children(env: Environment) -> list[children.ChildRecord]:
    return children.records(env.home / "run" / "children")


def _status(env: Environment) -> dict[str, Any]:
    return json.loads(env.jobnaut("status", "--json", check=False).stdout)


def test_killed_deploy_takes_its_schema_child_with_it_and_resumes(
        deployed: Environment, source_repo: SourceRepo) -> None:
    before = revision(deployed)
    sha = commit_migration(source_repo, "slow", "0951", SLOW)
    proc = _jobnaut(deployed, "deploy", sha)
    _until(lambda: any("schema up" in c.command for c in _children(deployed)),
           what="the schema child started")
    [child] = [c for c in _children(deployed) if "schema up" in c.command]
    time.sleep(2.5)  # inside the migration now
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    _until(lambda: not child.alive(), 10, "the schema child died with its parent")
    state = _status(deployed)
    assert state["interrupted"]["kind"] == "deploy"
    assert state["interrupted"]["survivors"] == []
    assert revision(deployed) == before  # the killed migration committed nothing

    resumed = deployed.jobnaut("deploy", "--resume", timeout=400)
    assert "skipped" in resumed.stderr
    assert revision(deployed) == "0951"
    assert deployed.jobnaut("status", check=False).returncode == 0


def test_abandon_kills_survivors_stops_candidates_and_fails_the_release(
        deployed: Environment) -> None:
    before = _status(deployed)["active_release"]
    [serving] = [r for r in deployed.releases() if r["id"] == before]
    proc = _jobnaut(deployed, "deploy", serving["ref"], "--reason", "to be abandoned")
    _wait_for_step(deployed, proc, {"check"})
    parent_ticks = pids.start_ticks(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # A child that escaped (say, on a kernel without PR_SET_PDEATHSIG), recorded as the
    # runner records its children.
    escaped = subprocess.Popen(["sleep", "300"], start_new_session=True)
    directory = deployed.home / "run" / "children"
    directory.mkdir(parents=True, exist_ok=True)
    ticks = pids.start_ticks(escaped.pid)
    (directory / f"{escaped.pid}-{ticks}.json").write_text(json.dumps({
        "pid": escaped.pid, "start_ticks": ticks, "parent_pid": proc.pid,
        "parent_ticks": parent_ticks, "command": "jobnaut schema up"}))

    state = _status(deployed)
    assert [s["pid"] for s in state["interrupted"]["survivors"]] == [escaped.pid]
    assert str(escaped.pid) in deployed.jobnaut("status", check=False).stdout
    ops = Env.open(deployed.home)
    release_id = ops.ledger.operations(limit=1)[0].context["release_id"]
    candidates = [p for p in ops.ledger.running_processes()
                  if p.release_id == release_id and p.role == "candidate"]
    assert len(candidates) == 2

    deployed.jobnaut("abandon")
    assert escaped.wait(10) == -signal.SIGKILL
    for p in candidates:
        _until(_stopped(p.pid, p.start_ticks), 30, f"candidate {p.service} stopped")
    assert ops.ledger.release(release_id).status == "failed"
    after = deployed.jobnaut("status", "--json", check=False)
    assert after.returncode == 0
    state = json.loads(after.stdout)
    assert state["interrupted"] is None and state["active_release"] == before
    assert all(s["role"] != "candidate" for s in state["services"]["standby"])


def _stopped(pid: int, ticks: int | None) -> Callable[[], bool]:
    return lambda: not pids.same_process(pid, ticks)


def _scratch_of(env: Environment, pid: int) -> list[str]:
    """Scratch copies (databases or files) made by process `pid`."""
    url = make_url(database_url(env))
    if url.get_backend_name() == "sqlite":
        return [p.name for p in (env.home / "backups").glob(f".scratch-*_{pid}_*")]
    with pg.connect_admin(url) as admin:
        rows = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                             (f"%\\_{pid}\\_%",)).fetchall()
    return [str(r[0]) for r in rows]


def test_restore_killed_during_verification_leaves_no_copy_of_user_data(
        deployed: Environment) -> None:
    created = deployed.json("backup", "create")
    proc = _jobnaut(deployed, "backup", "restore", created["id"], "--yes")
    _wait_for_step(deployed, proc, {"report"})
    # Step it forward in slices until a scratch copy exists, then kill it there.
    os.kill(proc.pid, signal.SIGSTOP)
    deadline = time.monotonic() + 120
    while not _scratch_of(deployed, proc.pid):
        assert time.monotonic() < deadline and proc.poll() is None, "no scratch copy seen"
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.01)
        os.kill(proc.pid, signal.SIGSTOP)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _scratch_of(deployed, proc.pid)

    deployed.jobnaut("abandon")
    assert _scratch_of(deployed, proc.pid) == []
    assert deployed.jobnaut("status", check=False).returncode == 0


def test_scratch_cleanup_spares_copies_whose_creator_runs(tmp_path: Path,
                                                          postgres: PostgresServer) -> None:
    if postgres.admin_url is None:
        pytest.skip(f"PostgreSQL unavailable: {postgres.reason}")
    gone = subprocess.Popen(["true"])
    gone.wait()
    host = scratch.tag().split("_")[0]
    orphan = f"jobnaut_scratch_{host}_{gone.pid}_1_abcdef"
    foreign = f"jobnaut_scratch_ffff_{gone.pid}_1_abcdef" if host != "ffff" else \
        f"jobnaut_scratch_eeee_{gone.pid}_1_abcdef"
    with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
        for name in (orphan, foreign):
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with pg.scratch_database(postgres.admin_url) as mine:
            dropped = core.remove_orphaned_scratch(_home(tmp_path), [postgres.admin_url])
            assert orphan in dropped
            names = _databases(postgres.admin_url)
            assert str(make_url(mine).database) in names  # its creator (this test) runs
            assert foreign in names  # another machine's: not ours to judge
            assert orphan not in names
    finally:
        pg.drop_database(make_url(postgres.admin_url), foreign)
        pg.drop_database(make_url(postgres.admin_url), orphan)


def test_sqlite_scratch_files_of_a_dead_creator_are_removed(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    host = scratch.tag().split("_")[0]
    live = tmp_path / "data" / "jobnaut.db"
    live.parent.mkdir()
    live.write_bytes(b"")
    orphan_file = live.with_name(f"jobnaut.db.restore-{host}_{gone.pid}_1_abcdef")
    orphan_file.write_bytes(b"users' data")
    orphan_file.with_name(orphan_file.name + "-wal").write_bytes(b"more")
    home = _home(tmp_path)
    orphan_dir = home.backups / f".scratch-{host}_{gone.pid}_1_abcdef"
    orphan_dir.mkdir(parents=True)
    (orphan_dir / "restored.db").write_bytes(b"users' data")
    from jobnaut.ops.backups import sqlite

    with sqlite.scratch_directory(home.backups) as mine:
        removed = core.remove_orphaned_scratch(home, [f"sqlite:///{live}"])
        assert mine.exists()
    assert not orphan_dir.exists() and not orphan_file.exists()
    assert not orphan_file.with_name(orphan_file.name + "-wal").exists()
    assert live.exists() and len(removed) == 3


def _home(root: Path) -> Home:
    config = OpsConfig(name="t", source=root, backend_port=1, frontend_port=2)
    return Home(root=root, config=config)


def _databases(admin_url: str) -> set[str]:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        return {str(r[0]) for r in admin.execute("SELECT datname FROM pg_database")}

