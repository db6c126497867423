"""A bad configuration stops the backend before it serves, naming the variable, not the value."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from jobnaut.config import (
    CLERK_NEEDS,
    SECRET_KEYS,
    SETTINGS,
    check_variables,
    redact,
    settings_of,
)
from jobnaut.ops.actions.release_env import secret_values
from jobnaut.ops.secrets import MIN_SECRET_LENGTH, mask
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
    # A Clerk secret turns Clerk sign-in on, which then needs the rest of its settings.
    assert failing - {name} <= (set(CLERK_NEEDS) if name == "CLERK_SECRET_KEY" else set())
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


# --- every setting is validated in the one checklist ----------------------------------------

# One value each setting must refuse. A setting added without an entry here fails
# test_every_setting_refuses_a_bad_value: a new setting cannot skip validation.
BAD_VALUE_OF = {
    "DATABASE_URL": "mysql://admin@db.internal/jobs",
    "CLERK_SECRET_KEY": "sk_test_",
    "ENCRYPTION_KEY": "not-a-fernet-key",
    "JOBNAUT_ENV": "prod",
    "PORT": "0",
    "API_BASE_URL": "ftp://127.0.0.1:8000",
    "CLERK_JWT_KEY": "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----",
    "JSEARCH_API_URL": "not a url",
    "JSEARCH_API_KEY": "has spaces in it",
    "API_TIMEOUT_SECONDS": "-5",
    "CLERK_ISSUER": "http://clerk.example.com",
    "SECURE_COOKIES": "maybe",
    "API_DOCS": "sometimes",
    "METRICS_TOKEN": "has spaces in it",
    "CLERK_AUTHORIZED_PARTIES": "https://jobnaut.example/app",
    "SMTP_URL": "http://mail.example.com",
    "MAIL_FROM": "status at example",
    "PUBLIC_URL": "jobs.example.com",
}
MORE_BAD_VALUES = [
    ("API_TIMEOUT_SECONDS", "abc"), ("API_TIMEOUT_SECONDS", "0"),
    ("API_TIMEOUT_SECONDS", "nan"), ("API_TIMEOUT_SECONDS", "inf"),
    ("API_TIMEOUT_SECONDS", "301"), ("PORT", "65536"), ("PORT", "http"),
    ("JSEARCH_API_KEY", "short"), ("JSEARCH_API_URL", "http://"),
    ("CLERK_SECRET_KEY", "sk_live_has spaces here"), ("JOBNAUT_ENV", "1"),
    ("SMTP_URL", "smtp://"), ("SMTP_URL", "smtp://mail:99999"),
    ("MAIL_FROM", "<a@b.c>"),
]
README = Path(__file__).resolve().parents[2] / "README.md"


def documented_settings() -> set[str]:
    """The variables in README's configuration table (`| `NAME`, `NAME` | service | … |`)."""
    text = README.read_text()
    table = text[text.index("| variable | used by | meaning |"):].split("\n\n")[0]
    names: set[str] = set()
    for row in table.splitlines()[2:]:
        names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1]))
    return names


def test_every_documented_setting_is_in_the_checklist() -> None:
    assert documented_settings() == set(SETTINGS)
    assert set(BAD_VALUE_OF) == set(SETTINGS)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_setting_refuses_a_bad_value(tmp_path: Path, name: str) -> None:
    env = {**valid_env(tmp_path), name: BAD_VALUE_OF[name]}
    states = {r.name: r.state for r in check_variables(env)}
    assert states[name] == "invalid"


@pytest.mark.parametrize(("name", "value"), MORE_BAD_VALUES)
def test_out_of_range_and_malformed_values_are_refused(tmp_path: Path, name: str,
                                                       value: str) -> None:
    env = {**valid_env(tmp_path), name: value}
    assert {r.name: r.state for r in check_variables(env)}[name] == "invalid"


@pytest.mark.parametrize("value", ["-5", "abc"])
def test_config_check_refuses_a_bad_timeout(tmp_path: Path, value: str) -> None:
    env = {**valid_env(tmp_path), "API_TIMEOUT_SECONDS": value}
    result = jobnaut(["config", "check", "--env", "--json"], env, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    states = {item["name"]: item["state"] for item in json.loads(result.stdout)}
    assert states["API_TIMEOUT_SECONDS"] == "invalid"


def test_frontend_refuses_to_start_on_a_bad_timeout(tmp_path: Path) -> None:
    env = {"JOBNAUT_ENV": "development", "API_BASE_URL": "http://127.0.0.1:8000",
           "API_TIMEOUT_SECONDS": "-5"}
    result = jobnaut(["serve", "frontend", "--port", str(free_port())], env, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "API_TIMEOUT_SECONDS" in result.stderr and "cannot start" in result.stderr


def test_frontend_checklist_needs_none_of_the_backend_settings(tmp_path: Path) -> None:
    frontend_only = {"JOBNAUT_ENV": "development", "API_BASE_URL": "http://127.0.0.1:8000"}
    result = jobnaut(["config", "check", "--env", "--service", "frontend", "--json"],
                     frontend_only, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    names = {item["name"] for item in json.loads(result.stdout)}
    assert names == settings_of("frontend")
    assert not names & SECRET_KEYS


def test_each_service_reads_only_its_own_settings() -> None:
    assert {"DATABASE_URL", "ENCRYPTION_KEY", "JSEARCH_API_KEY", "CLERK_SECRET_KEY"} <= \
        settings_of("backend")
    assert settings_of("frontend") == {"JOBNAUT_ENV", "PORT", "API_BASE_URL",
                                       "API_TIMEOUT_SECONDS", "SECURE_COOKIES"}


def test_config_check_refuses_an_unknown_service(tmp_path: Path) -> None:
    result = jobnaut(["config", "check", "--env", "--service", "database"],
                     valid_env(tmp_path), tmp_path)
    assert result.returncode == 2
    assert "backend, frontend" in result.stderr


# --- masking: whole values of known secrets only -------------------------------------------


def test_unknown_and_short_values_are_never_masking_patterns() -> None:
    key = Fernet.generate_key().decode()
    config = {"UNKNOWN_KEY": "1", "OLD_API_TOKEN": "abc", "JOBNAUT_ENV": "development",
              "API_BASE_URL": "http://127.0.0.1:8000", "ENCRYPTION_KEY": key,
              "DATABASE_URL": "postgresql://app:pw@127.0.0.1:5432/jobs"}
    patterns = secret_values(config)
    assert key in patterns and config["DATABASE_URL"] in patterns
    assert all(len(p) >= MIN_SECRET_LENGTH for p in patterns)
    text = "build /tmp/1/builds/1a2b3c4d11 for v11 on http://127.0.0.1:8000"
    assert mask(text, patterns) == text


def test_masking_hides_whole_secrets_and_url_passwords() -> None:
    key = Fernet.generate_key().decode()
    shown = mask(f"key={key} url=postgresql://app:pw@127.0.0.1/jobs", [key])
    assert key not in shown and "pw" not in shown
    assert shown == "key=**** url=postgresql://app:****@127.0.0.1/jobs"


def test_only_secret_settings_are_redacted() -> None:
    assert redact("ENCRYPTION_KEY", "abc") == "****"
    assert redact("API_TIMEOUT_SECONDS", "7") == "7"
    assert redact("DATABASE_URL", "postgresql://app:hunter2pw@h/db") == \
        "postgresql://app:***@h/db"
