"""Schemathesis against a real backend process on SQLite and on PostgreSQL: no server
errors, no response that breaks the OpenAPI document, signed out and signed in, stateful
phase included.

A short run for the suite (about half a minute); docs/security.md gives the long one.
Two checks are left out, for reasons the document cannot express:
- positive_data_acceptance: the password policy (common passwords, the own email) and the
  per-skill length inside the comma-separated `skills` are not JSON Schema, so "valid"
  inputs are rightly refused;
- allow_header_conformance: Starlette's 405 lists the methods of the first route that
  matches a path, not of every route on it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import PASSWORD, unique_email
from tests.conftest import backend_env
from tests.support.inbox import smtp_inbox
from tests.support.processes import Service, run_service

SEED = "20261129"
EXCLUDED_CHECKS = "positive_data_acceptance,allow_header_conformance"


@pytest.fixture(scope="module")
def backend(encryption_key: str, module_database_url: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("schemathesis")
    # A real mail server, so that subscribing (which mails a confirmation) can succeed.
    with smtp_inbox() as inbox, run_service(
            "backend", backend_env(module_database_url, encryption_key,
                                   SMTP_URL=f"smtp://127.0.0.1:{inbox.port}"),
            directory, "--migrate", "--demo-data") as service:
        yield service


@pytest.fixture(scope="module")
def token(backend: Service) -> str:
    """Signed up first: the runs' own sign-in attempts may use up this address's limit."""
    signup = httpx.post(f"{backend.url}/api/auth/signup",
                        json={"email": unique_email("st"), "password": PASSWORD})
    assert signup.status_code == 201, signup.text
    value: str = signup.json()["token"]
    return value


def schemathesis(service: Service, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    st = Path(sys.executable).with_name("st")
    return subprocess.run(
        [str(st), "run", f"{service.url}/openapi.json", "--checks", "all",
         "--exclude-checks", EXCLUDED_CHECKS, "--phases", "coverage,fuzzing,stateful",
         "--max-examples", "6", "--seed", SEED, "--workers", "1", "--no-color",
         "--request-timeout", "10", *extra],
        cwd=cwd, capture_output=True, text=True, timeout=240,
    )


def test_no_server_errors_or_schema_violations_signed_out(
    backend: Service, token: str, tmp_path: Path
) -> None:
    result = schemathesis(backend, tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Traceback" not in backend.log_text()


def test_no_server_errors_or_schema_violations_signed_in(
    backend: Service, token: str, tmp_path: Path
) -> None:
    # Sign-out would end the session the rest of the run uses; it is tested signed out.
    result = schemathesis(backend, tmp_path, "--header", f"Authorization: Bearer {token}",
                          "--exclude-path-regex", "^/api/auth/signout")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert token not in result.stdout + result.stderr  # the token is masked in output
    assert "Traceback" not in backend.log_text()
