"""Configuration changes and rollbacks (plan scenario 3), secrets, and `jobnaut health`."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat

import pytest
from cryptography.fernet import Fernet

from jobnaut.ops.context import Env
from tests.ops.conftest import Environment, quick_outage_answers
from tests.ops.helpers import UserData


@pytest.fixture(scope="module")
def deployed(deployed_sqlite: Environment) -> Environment:
    """Configuration is kept in the ledger, whatever the database: SQLite only."""
    return quick_outage_answers(deployed_sqlite)


@pytest.fixture(scope="module")
def user(deployed: Environment) -> UserData:
    return UserData(deployed.api).create()


def current_config(env: Environment) -> dict[str, str]:
    ops_env = Env.open(env.home)
    return ops_env.config_of(ops_env.current_config_id())


def release_count(env: Environment) -> int:
    return len(env.releases())


def test_config_is_stored_encrypted_and_shown_redacted(deployed: Environment) -> None:
    key = current_config(deployed)["ENCRYPTION_KEY"]
    shown = deployed.jobnaut("config", "show")
    assert "ENCRYPTION_KEY=****" in shown.stdout
    assert key not in shown.stdout + shown.stderr
    with sqlite3.connect(deployed.home / "ledger.db") as db:
        sealed = b"".join(bytes(row[0]) for row in db.execute("SELECT sealed FROM configs"))
    assert key.encode() not in sealed and b"DATABASE_URL" not in sealed
    for name in ("secret.key", "ledger.db"):
        assert stat.S_IMODE(os.stat(deployed.home / name).st_mode) == 0o600


def test_malformed_database_url_is_refused_before_anything_changes(
        deployed: Environment, user: UserData) -> None:
    before, count = deployed.serving_release(), release_count(deployed)
    result = deployed.jobnaut("config", "set", "DATABASE_URL=not a url", check=False)
    assert result.returncode == 1
    assert "DATABASE_URL" in result.stderr and "not a url" not in result.stderr
    assert release_count(deployed) == count
    assert deployed.serving_release() == before
    user.assert_intact()


def test_unreachable_database_never_takes_traffic(deployed: Environment, user: UserData) -> None:
    before = deployed.serving_release()
    result = deployed.jobnaut(
        "config", "set", "DATABASE_URL=postgresql://nobody:hunter2@127.0.0.1:1/nowhere",
        check=False)
    assert result.returncode == 1
    assert "hunter2" not in result.stdout + result.stderr
    newest = deployed.releases()[0]
    assert newest["kind"] == "config" and newest["status"] == "failed"
    assert deployed.serving_release() == before
    user.assert_intact()


def test_wrong_encryption_key_is_refused(deployed: Environment, user: UserData) -> None:
    before, count = deployed.serving_release(), release_count(deployed)
    wrong = Fernet.generate_key().decode()
    result = deployed.jobnaut("config", "set", f"ENCRYPTION_KEY={wrong}", check=False)
    assert result.returncode == 1
    assert "cannot decrypt" in result.stderr and wrong not in result.stderr
    assert release_count(deployed) == count
    assert deployed.serving_release() == before
    user.assert_intact()


def test_key_rotation_then_rollback_that_would_strand_data_is_refused(
        deployed: Environment, user: UserData) -> None:
    old = current_config(deployed)["ENCRYPTION_KEY"]
    new = Fernet.generate_key().decode()
    previous = deployed.serving_release()

    rotated = deployed.jobnaut("config", "set", f"ENCRYPTION_KEY={new},{old}")
    assert new not in rotated.stdout + rotated.stderr
    current = deployed.serving_release()
    assert current != previous
    user.assert_intact()

    diff = deployed.jobnaut("config", "diff", previous, current)
    assert "ENCRYPTION_KEY" in diff.stdout and new not in diff.stdout
    revealed = deployed.jobnaut("config", "diff", previous, current, "--reveal")
    assert new in revealed.stdout

    # Data written now is encrypted under the new key only.
    late = UserData(deployed.api).create()
    result = deployed.jobnaut("rollback", "config", "--yes", check=False)
    assert result.returncode == 1
    assert "cannot decrypt" in result.stderr
    assert deployed.serving_release() == current
    user.assert_intact()
    late.assert_intact()


def test_config_change_and_rollback(deployed: Environment, user: UserData) -> None:
    before = deployed.serving_release()
    deployed.jobnaut("config", "set", "API_TIMEOUT_SECONDS=7")
    changed = deployed.serving_release()
    assert changed != before
    assert current_config(deployed)["API_TIMEOUT_SECONDS"] == "7"

    plan = deployed.jobnaut("rollback", "config", "--dry-run")
    assert "prepare" in plan.stdout
    assert deployed.serving_release() == changed

    deployed.jobnaut("rollback", "config", "--yes")
    restored = deployed.serving_release()
    assert restored not in (before, changed)  # a new release carrying the old snapshot
    assert "API_TIMEOUT_SECONDS" not in current_config(deployed)
    newest = deployed.releases()[0]
    assert newest["kind"] == "config" and "rollback config" in newest["reason"]
    user.assert_intact()


def test_config_check_lists_the_appendix_b_checklist(deployed: Environment) -> None:
    result = deployed.jobnaut("config", "check", "--json")
    names = {item["name"] for item in __import__("json").loads(result.stdout)}
    assert {"DATABASE_URL", "CLERK_SECRET_KEY", "ENCRYPTION_KEY", "JOBNAUT_ENV", "PORT",
            "API_BASE_URL"} <= names


def test_health_reports_appendix_c_and_fails_when_the_backend_dies(
        deployed: Environment) -> None:
    healthy = deployed.json("health")
    names = {c["name"] for c in healthy["checks"]}
    assert healthy["ok"] is True
    assert {"authentication service", "database connectivity", "external API: job feed",
            "health endpoints: backend", "health endpoints: frontend"} <= names
    assert any(n.startswith("user-facing:") for n in names)

    backend_pid = deployed.json("status")["services"]["backend"]["pid"]
    os.kill(backend_pid, signal.SIGKILL)
    failed = deployed.jobnaut("health", check=False)
    assert failed.returncode == 1
    assert "✗" in failed.stdout

    deployed.jobnaut("up")  # brings the dead service back
    assert deployed.json("health")["ok"] is True
