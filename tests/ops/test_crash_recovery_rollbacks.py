"""Crash injection, continued from test_crash_recovery.py (same helpers, its own SQLite
environment): code rollbacks, emergencies and config changes killed with SIGKILL after
each step; `--resume` returns a serving, consistent environment with nothing lost."""

from __future__ import annotations

import pytest

from tests.ops.conftest import Environment
from tests.ops.helpers import UserData
from tests.ops.test_crash_recovery import assert_consistent, killed_at


@pytest.fixture(scope="module")
def sqlite_env(deployed_sqlite: Environment) -> Environment:
    return deployed_sqlite


@pytest.fixture(scope="module")
def users(sqlite_env: Environment) -> list[UserData]:
    return [UserData(sqlite_env.api).create()]


@pytest.mark.parametrize("step", ["identify", "start", "switch", "verify", "record"])
def test_code_rollback_killed_after_each_step_resumes(sqlite_env: Environment,
                                                      users: list[UserData], step: str) -> None:
    sqlite_env.jobnaut("deploy", "main", "-m", f"to roll back at {step}")
    bad = sqlite_env.serving_release()
    killed_at(sqlite_env, f"after:{step}", "rollback", "code", "--yes")
    sqlite_env.jobnaut("rollback", "code", "--resume")
    assert sqlite_env.serving_release() != bad
    assert next(r for r in sqlite_env.releases() if r["id"] == bad)["status"] == "rolled_back"
    assert_consistent(sqlite_env, users)


@pytest.mark.parametrize("step", ["immediate action", "switch", "stability"])
def test_emergency_killed_resumes_and_stays_frozen(sqlite_env: Environment,
                                                   users: list[UserData], step: str) -> None:
    sqlite_env.jobnaut("deploy", "main", "-m", f"emergency at {step}")
    bad = sqlite_env.serving_release()
    killed_at(sqlite_env, f"after:{step}", "rollback", "emergency", "--reason", "crash test",
              "--yes")
    sqlite_env.jobnaut("rollback", "emergency", "--resume")
    assert sqlite_env.serving_release() != bad
    assert sqlite_env.json("status")["deploy_freeze"]
    sqlite_env.jobnaut("freeze", "--lift", "--reason", "fixed in the next release")
    assert_consistent(sqlite_env, users)


@pytest.mark.parametrize("step", ["prepare", "switch"])
def test_config_change_killed_resumes(sqlite_env: Environment, users: list[UserData],
                                      step: str) -> None:
    before = sqlite_env.serving_release()
    killed_at(sqlite_env, f"after:{step}", "config", "set",
              f"API_TIMEOUT_SECONDS={5 + len(step)}")
    assert sqlite_env.json("status")["interrupted"]["kind"] == "config"
    sqlite_env.jobnaut("resume")
    assert_consistent(sqlite_env, users)
    newest = sqlite_env.releases()[0]
    assert newest["kind"] == "config" and newest["status"] == "active" and newest["id"] != before
    assert sqlite_env.serving_release() == newest["id"]
