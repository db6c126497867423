"""Crash injection: `jobnaut` killed with SIGKILL at step boundaries of every operation.

The kill comes from the operation engine's failpoint (`JOBNAUT_FAILPOINT=after:STEP`): the
step's work is done, the ledger does not know yet — the worst moment. After each kill:
`status` explains it; `--resume` (or `abandon` and the documented next command) returns a
serving, consistent environment; no row acknowledged to a client is lost; nothing the
operation started is left behind.

Step boundaries do not depend on the database and run on SQLite; the steps whose work
happens inside the database (migrate, downgrade, restore) also run on PostgreSQL.
Rollbacks, emergencies and config changes killed mid-way are in
test_crash_recovery_rollbacks.py (a module per worker under `--dist loadscope`: two halves
balance the workers).
"""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from tests.ops.conftest import Environment, SourceRepo
from tests.ops.helpers import UserData
from tests.ops.test_database_rollback import ADD_NICKNAME, commit_migration, revision


def killed_at(env: Environment, point: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "jobnaut", "--home", str(env.home), *args],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, "JOBNAUT_FAILPOINT": point})
    assert result.returncode == -9, f"not killed at {point}: {result.stdout}{result.stderr}"
    return result


def assert_consistent(env: Environment, users: list[UserData]) -> None:
    state = env.json("status")
    assert state["interrupted"] is None and state["running_operation"] is None
    active = state["active_release"]
    for service in ("backend", "frontend"):
        assert state["services"][service]["healthy"], state["services"][service]
    assert httpx.get(f"{env.api}/health/ready", timeout=10).status_code == 200
    assert httpx.get(f"{env.web}/", timeout=10).status_code == 200
    for user in users:
        user.assert_intact(env.api)
    # Nothing left behind: every running process is live, or the one warm previous release.
    standby = state["services"].get("standby", [])
    assert all(s["role"] == "warm" for s in standby), standby
    assert len({s["release"] for s in standby}) <= 1, standby
    pending = [r for r in env.releases() if r["status"] == "pending"]
    assert not pending, pending
    assert active is not None


@pytest.fixture(scope="module")
def sqlite_env(deployed_sqlite: Environment) -> Environment:
    return deployed_sqlite


@pytest.fixture(scope="module")
def users(sqlite_env: Environment) -> list[UserData]:
    return [UserData(sqlite_env.api).create()]


# The boundaries where something changes (the read-only steps in between resume the same),
# and the moment the retire has chosen what stops but the verify, which stops it, has not run.
DEPLOY_POINTS = [*(f"after:{step}" for step in ["record", "backup", "migrate", "start",
                                                "switch", "retire", "rollback readiness"]),
                 "before:verify"]


@pytest.mark.parametrize("point", DEPLOY_POINTS)
def test_deploy_killed_after_each_step_resumes(sqlite_env: Environment, users: list[UserData],
                                               point: str) -> None:
    step = point.split(":", 1)[1]
    before = {r["id"] for r in sqlite_env.releases()}
    killed_at(sqlite_env, point, "deploy", "main", "-m", f"killed at {point}")
    state = sqlite_env.json("status")
    assert state["interrupted"]["kind"] == "deploy"
    assert any(s["name"] == step and s["status"] == "running"
               for s in state["interrupted"]["steps"])
    refused = sqlite_env.jobnaut("deploy", "main", check=False)
    assert refused.returncode == 1 and "interrupted" in refused.stderr

    sqlite_env.jobnaut("deploy", "--resume")
    new = [r for r in sqlite_env.releases() if r["id"] not in before]
    assert len(new) == 1 and new[0]["status"] == "active"
    assert sqlite_env.serving_release() == new[0]["id"]
    users.append(UserData(sqlite_env.api).create())
    assert_consistent(sqlite_env, users)


@pytest.mark.parametrize("point", ["after:record", "after:start", "before:verify"])
def test_deploy_killed_then_abandoned_leaves_nothing(sqlite_env: Environment,
                                                     users: list[UserData], point: str) -> None:
    serving = sqlite_env.serving_release()
    killed_at(sqlite_env, point, "deploy", "main", "-m", f"abandoned at {point}")
    sqlite_env.jobnaut("abandon")
    newest = sqlite_env.releases()[0]
    if point == "before:verify":  # switched already: the new release serves, unverified
        assert sqlite_env.serving_release() == newest["id"] != serving
    else:
        assert sqlite_env.serving_release() == serving
        if newest["id"] != serving:
            assert newest["status"] == "failed"
    assert_consistent(sqlite_env, users)
    sqlite_env.jobnaut("deploy", "main", "-m", "after the abandoned one")
    assert_consistent(sqlite_env, users)


# Inside the database: both engines --------------------------------------------------------

def test_migrations_killed_mid_way_lose_nothing(deployed: Environment,
                                                source_repo: SourceRepo) -> None:
    user = UserData(deployed.api).create()
    head = revision(deployed)
    sha = commit_migration(source_repo, "crash-nick", "0951", ADD_NICKNAME)

    killed_at(deployed, "after:migrate", "deploy", sha)
    assert revision(deployed) == "0951"
    deployed.jobnaut("deploy", "--resume")
    after_deploy = UserData(deployed.api).create()

    killed_at(deployed, "after:downgrade", "rollback", "migration", "--yes")
    assert revision(deployed) == head
    deployed.jobnaut("rollback", "migration", "--resume")
    assert_consistent(deployed, [user, after_deploy])

    killed_at(deployed, "after:migrate", "deploy", sha)
    deployed.jobnaut("abandon")
    # Abandoned after its migration ran: the documented way out is to roll the schema back.
    deployed.jobnaut("rollback", "migration", "--yes")
    assert revision(deployed) == head
    assert_consistent(deployed, [user, after_deploy])

    deployed.jobnaut("deploy", sha)
    killed_at(deployed, "after:restore database", "rollback", "migration", "--restore-db",
              "--yes")
    assert revision(deployed) == head
    deployed.jobnaut("rollback", "migration", "--resume")
    assert_consistent(deployed, [user])
