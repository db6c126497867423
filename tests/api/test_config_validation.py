"""A bad configuration stops the backend before it serves, naming the variable, not the value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.processes import free_port

APP_VARIABLES = ("DATABASE_URL", "ENCRYPTION_KEY", "JOBNAUT_ENV", "PORT", "CLERK_SECRET_KEY",
                 "CLERK_JWT_KEY", "API_BASE_URL", "JSEARCH_API_URL", "JSEARCH_API_KEY")


def jobnaut(args: list[str], overrides: dict[str, str], cwd: Path
            ) -> subprocess.CompletedProcess[str]:
    """Run `python -m jobnaut ARGS` with only the given app configuration (no .env file)."""
    env = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES}
    env.update(overrides)
    env["COLUMNS"] = "200"  # keep Rich from wrapping messages across lines
    return subprocess.run([sys.executable, "-m", "jobnaut", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def valid_env(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(), "JOBNAUT_ENV": "development",
            "API_BASE_URL": "http://127.0.0.1:8000"}


def flat(text: str) -> str:
    return "".join(text.split())


BAD_VALUES = [
    ("DATABASE_URL", "not-a-url-hunter2-s3cret"),
    ("DATABASE_URL", "mysql://admin:hunter2pw@db.internal/jobs"),
    ("ENCRYPTION_KEY", "hunter2-is-not-a-fernet-key"),
    # A fixed valid key (32 bytes, url-safe base64) so test ids are the same in every worker.
    ("ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,hunter2-second-key"),
    ("JOBNAUT_ENV", "prod"),
    ("CLERK_SECRET_KEY", "pk_live_hunter2publishable"),
]
BAD_IDS = ["url-garbage", "url-mysql", "key-garbage", "key-second-bad", "env-prod",
           "clerk-publishable"]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES, ids=BAD_IDS)
def test_backend_refuses_to_start_on_a_bad_value(tmp_path: Path, name: str, value: str) -> None:
    env = {**valid_env(tmp_path), name: value}
    result = jobnaut(["serve", "backend", "--port", str(free_port())], env, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert name in output
    assert "cannot start" in output
    assert "listening" not in output
    assert "hunter2" not in flat(output)  # every secret test value holds this marker
    assert "Traceback" not in output


def test_backend_refuses_to_start_without_a_required_variable(tmp_path: Path) -> None:
    env = valid_env(tmp_path)
    del env["ENCRYPTION_KEY"]
    result = jobnaut(["serve", "backend", "--port", str(free_port())], env, tmp_path)
    assert result.returncode == 2
    assert "ENCRYPTION_KEY" in result.stderr
    assert "required" in result.stderr


def test_production_on_sqlite_is_refused(tmp_path: Path) -> None:
    env = {**valid_env(tmp_path), "JOBNAUT_ENV": "production"}
    result = jobnaut(["serve", "backend", "--port", str(free_port())], env, tmp_path)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr and "PostgreSQL" in result.stderr
    assert str(tmp_path) not in flat(result.stderr)


def test_config_check_passes_on_a_valid_configuration(tmp_path: Path) -> None:
    result = jobnaut(["config", "check"], valid_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("name", "value"), BAD_VALUES, ids=BAD_IDS)
def test_config_check_exits_1_and_lists_the_failing_item(
    tmp_path: Path, name: str, value: str
) -> None:
    env = {**valid_env(tmp_path), name: value}
    result = jobnaut(["config", "check", "--json"], env, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    items = json.loads(result.stdout)
    states = {item["name"]: item["state"] for item in items}
    assert states[name] == "invalid"
    failing = {n for n, state in states.items() if state not in ("ok", "unset")}
    # Turning Clerk on also makes its token key required.
    assert failing - {name} <= ({"CLERK_JWT_KEY"} if name == "CLERK_SECRET_KEY" else set())
    assert "hunter2" not in result.stdout
    assert {"DATABASE_URL", "ENCRYPTION_KEY", "JOBNAUT_ENV"} <= {i["name"] for i in items}


def test_config_check_table_marks_the_failing_item(tmp_path: Path) -> None:
    secret = "hunter2-is-not-a-fernet-key"
    env = {**valid_env(tmp_path), "ENCRYPTION_KEY": secret}
    result = jobnaut(["config", "check"], env, tmp_path)
    assert result.returncode == 1
    line = next(ln for ln in result.stdout.splitlines() if "ENCRYPTION_KEY" in ln)
    assert "invalid" in line and "✗" in line
    assert secret not in flat(result.stdout + result.stderr)
