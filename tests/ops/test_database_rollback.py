"""Plan scenario 2 and the "Restore Database" steps, on both databases: which rows survive
each path. Releases come from a real git repository whose commits add migrations."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect, text

from jobnaut.app.db import make_engine
from jobnaut.app.schema import expected_revision
from jobnaut.config import parse_database_url
from jobnaut.ops.actions.database import SideRestore
from jobnaut.ops.backups import postgres, sqlite
from jobnaut.ops.context import Env
from jobnaut.ops.drills.faults import MIGRATION  # the one migration-file template
from jobnaut.ops.errors import OpsError
from tests.ops.conftest import Environment, SourceRepo, git
from tests.ops.test_deploy_and_rollback import _wait_for_step

HEAD = expected_revision()


ADD_NICKNAME = dict(
    doc="add users.nickname",
    upgrade='    with op.batch_alter_table("users") as batch:\n'
            '        batch.add_column(sa.Column("nickname", sa.String(80)))',
    downgrade='    with op.batch_alter_table("users") as batch:\n'
              '        batch.drop_column("nickname")')
NO_DOWNGRADE = dict(
    doc="add job_notes with no way back",
    upgrade='    op.create_table("job_notes", sa.Column("id", sa.Integer, primary_key=True),\n'
            '                    sa.Column("body", sa.Text))',
    downgrade='    raise NotImplementedError("this migration cannot be undone")')
FAILS_HALF_WAY = dict(
    doc="creates a table, then fails",
    upgrade='    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))\n'
            '    op.execute("SELECT * FROM no_such_table")',
    downgrade='    op.drop_table("half_done")')


def commit_migration(repo: SourceRepo, branch: str, rev: str, spec: dict[str, str],
                     down: str = HEAD) -> str:
    git(repo.path, "checkout", "-q", "-B", branch, "main")
    path = repo.path / "src/jobnaut/migrations/versions" / f"{rev}_{branch}.py"
    path.write_text(MIGRATION.format(rev=rev, down=down, **spec))
    git(repo.path, "add", "-A")
    git(repo.path, "commit", "-qm", spec["doc"])
    sha = git(repo.path, "rev-parse", "HEAD")
    git(repo.path, "checkout", "-q", "main")
    return sha


def database_url(env: Environment) -> str:
    ops = Env.open(env.home)
    return ops.config_of(ops.current_config_id())["DATABASE_URL"]


def query(env: Environment, sql: str) -> list[tuple[object, ...]]:
    engine = make_engine(parse_database_url(database_url(env)))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def execute(env: Environment, sql: str) -> None:
    engine = make_engine(parse_database_url(database_url(env)))
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def sign_up(env: Environment) -> str:
    email = f"u-{uuid.uuid4().hex[:8]}@example.com"
    r = httpx.post(f"{env.api}/api/auth/signup",
                   json={"email": email, "password": "correct horse battery"})
    assert r.status_code == 201, r.text
    return email


def emails(env: Environment) -> set[str]:
    return {str(r[0]) for r in query(env, "SELECT email FROM users")}


def side_copies(env: Environment) -> list[str]:
    """Databases (or files) restored beside the live one and not swapped in."""
    url = parse_database_url(database_url(env))
    if url.get_backend_name() == "sqlite":
        live = Path(str(url.database))
        return sorted(p.name for p in live.parent.glob(f"{live.name}{sqlite.RESTORE_MARK}*"))
    with postgres.connect_admin(url) as admin:
        rows = admin.execute("SELECT datname FROM pg_database WHERE strpos(datname, %s) > 0",
                             (postgres.RESTORE_INFIX,)).fetchall()
    return sorted(str(r[0]) for r in rows if str(r[0]).startswith(str(url.database)[:25]))


def revision(env: Environment) -> str:
    return str(query(env, "SELECT version_num FROM alembic_version")[0][0])


def tables(env: Environment) -> set[str]:
    engine = make_engine(parse_database_url(database_url(env)))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_downgrade_keeps_every_row(deployed: Environment, source_repo: SourceRepo) -> None:
    before_deploy = sign_up(deployed)
    first = deployed.json("status")["active_release"]
    sha = commit_migration(source_repo, "nickname", "0901", ADD_NICKNAME)
    deployed.jobnaut("deploy", sha)
    assert revision(deployed) == "0901"
    newest = deployed.releases()[0]
    assert newest["backup_id"] and newest["rollback_ready"]["ready"] is True
    after_deploy = sign_up(deployed)
    execute(deployed, f"UPDATE users SET nickname = 'ada' WHERE email = '{after_deploy}'")

    code_only = deployed.jobnaut("rollback", "code", "--yes", check=False)
    assert code_only.returncode == 1
    assert "old code on a newer schema" in code_only.stderr
    assert "rollback migration" in code_only.stderr

    plan = deployed.jobnaut("rollback", "migration", "--dry-run")
    assert "drops column users.nickname (1 rows with data)" in plan.stdout
    refused = deployed.jobnaut("rollback", "migration", check=False)
    assert refused.returncode != 0 and "destroys data" in refused.stderr
    assert revision(deployed) == "0901"

    with_traffic = deployed.jobnaut("rollback", "migration", "--yes")
    assert "downgrade" in with_traffic.stderr
    # Before the maintenance window: the target kept warm by the deploy is reused and the
    # downgrade's process waits, loaded; in the window the warm target is checked live and
    # ready, and every check runs after the switch (ADR 0018).
    assert "(warm: backend, frontend)" in with_traffic.stderr
    assert "(prepared before the window)" in with_traffic.stderr
    assert "(warm: live and ready;" in with_traffic.stderr
    assert revision(deployed) == HEAD
    assert {before_deploy, after_deploy} <= emails(deployed)
    state = deployed.json("status")
    assert state["active_release"] == first
    assert httpx.get(f"{deployed.api}/health/ready").status_code == 200
    # The nickname is gone from the schema but kept in the safety backup taken first.
    backups = deployed.json("backup", "list")
    assert backups[0]["kind"] in ("safety", "pre-downgrade")


def test_restore_keeps_pre_deploy_rows_and_diff_hands_back_the_rest(
        deployed: Environment, source_repo: SourceRepo, tmp_path: Path) -> None:
    before_deploy = sign_up(deployed)
    sha = commit_migration(source_repo, "nickname2", "0902", ADD_NICKNAME)
    deployed.jobnaut("deploy", sha)
    after_deploy = sign_up(deployed)

    refused = deployed.jobnaut("rollback", "migration", "--restore-db", check=False)
    assert refused.returncode == 1
    assert "would discard" in refused.stderr and "users: 1 inserted" in refused.stderr
    assert after_deploy in emails(deployed)  # nothing changed
    assert httpx.get(f"{deployed.api}/health/ready").status_code == 200

    # Killed once the backup is restored beside the live database, before the window: the
    # live data and service are untouched, and the copy is the dead process's scratch.
    killed = subprocess.run(
        [sys.executable, "-m", "jobnaut", "--home", str(deployed.home), "rollback",
         "migration", "--restore-db", "--yes"], capture_output=True, text=True, timeout=300,
        env={**os.environ, "JOBNAUT_FAILPOINT": "after:warm target"})
    assert killed.returncode == -9, killed.stderr
    assert after_deploy in emails(deployed) and revision(deployed) == "0902"
    assert httpx.get(f"{deployed.api}/health/ready").status_code == 200
    assert side_copies(deployed)

    done = deployed.jobnaut("rollback", "migration", "--resume")
    assert "restored" in done.stderr
    present = emails(deployed)
    assert before_deploy in present and after_deploy not in present
    assert revision(deployed) == HEAD
    assert side_copies(deployed) == []

    listed = deployed.json("backup", "list")
    safety = next(b for b in listed if b["kind"] == "safety")
    pre = next(b for b in listed if b["kind"] == "pre-deploy" and b["schema_revision"] == HEAD
               and b["created_at"] < safety["created_at"])
    out = tmp_path / "diff"
    deployed.jobnaut("backup", "diff", pre["id"], safety["id"], "--out", str(out))
    exported = (out / "users.inserted.json").read_text()
    assert after_deploy in exported


def test_migration_without_downgrade_is_refused_then_restored(
        deployed: Environment, source_repo: SourceRepo) -> None:
    sha = commit_migration(source_repo, "nodown", "0903", NO_DOWNGRADE)
    deployed.jobnaut("deploy", sha)
    assert "job_notes" in tables(deployed)
    refused = deployed.jobnaut("rollback", "migration", "--yes", check=False)
    assert refused.returncode == 1 and "no working downgrade" in refused.stderr
    assert "--restore-db" in refused.stderr
    assert revision(deployed) == "0903"
    deployed.jobnaut("rollback", "migration", "--restore-db", "--yes")
    assert revision(deployed) == HEAD and "job_notes" not in tables(deployed)


def test_migration_failing_half_way_leaves_nothing_applied(
        deployed: Environment, source_repo: SourceRepo) -> None:
    before = deployed.json("status")["active_release"]
    sha = commit_migration(source_repo, "halfway", "0904", FAILS_HALF_WAY)
    result = deployed.jobnaut("deploy", sha, check=False)
    assert result.returncode == 1 and "migrate" in result.stderr
    assert revision(deployed) == HEAD
    assert "half_done" not in tables(deployed)
    assert deployed.json("status")["active_release"] == before
    assert deployed.releases()[0]["status"] == "failed"
    assert httpx.get(f"{deployed.api}/health/ready").status_code == 200


def test_corrupt_backup_is_refused_and_live_data_untouched(deployed: Environment) -> None:
    email = sign_up(deployed)
    created = deployed.json("backup", "create")
    folder = deployed.home / "backups" / created["id"]
    dump = folder / created["file"]
    assert deployed.jobnaut("backup", "verify", created["id"]).returncode == 0
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))

    verify = deployed.jobnaut("backup", "verify", created["id"], check=False)
    assert verify.returncode == 1 and "checksum" in verify.stdout
    restore = deployed.jobnaut("backup", "restore", created["id"], "--yes", check=False)
    assert restore.returncode == 1
    assert email in emails(deployed)
    # Restored ahead of a maintenance window, it is refused too and leaves no copy beside.
    with pytest.raises(OpsError, match="cannot be trusted"):
        SideRestore.make(Env.open(deployed.home), created["id"], database_url(deployed))
    assert side_copies(deployed) == []
    assert httpx.get(f"{deployed.api}/health/ready").status_code == 200


def test_killed_restore_leaves_live_data_and_resumes(deployed: Environment) -> None:
    created = deployed.json("backup", "create")
    email = sign_up(deployed)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobnaut", "--home", str(deployed.home), "backup", "restore",
         created["id"], "--yes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_step(deployed, proc, {"safety backup", "restore database"})
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert email in emails(deployed) or revision(deployed) == HEAD  # never a broken database
    # The backend is in maintenance: `status` exits 1 and says so.
    shown = deployed.jobnaut("status", "--json", check=False)
    state = json.loads(shown.stdout)
    assert state["interrupted"]["kind"] == "rollback-migration"

    deployed.jobnaut("rollback", "migration", "--resume")
    assert email not in emails(deployed)  # the restore finished: the later row is discarded
    assert httpx.get(f"{deployed.api}/health/ready").status_code == 200
