"""Shared fixtures: real databases (PostgreSQL and SQLite) and real backend processes."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.databases import PostgresServer, sqlite_url
from tests.support.processes import Service, run_service

DB_KINDS = ["sqlite", "postgresql"]
SRC = Path(__file__).resolve().parents[1] / "src"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile this tree's modules and its virtualenv's once, before any test starts.

    Tests start `python -m jobnaut` hundreds of times, and PYTHONDONTWRITEBYTECODE (set on
    these machines) means no start ever leaves its bytecode behind: each would spend about
    a second recompiling the CLI and its libraries. Only the xdist controller compiles
    (workers start after it); files that are up to date cost a stat each."""
    if hasattr(session.config, "workerinput"):
        return
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(SRC),
                    sysconfig.get_paths()["purelib"]], stdout=subprocess.DEVNULL, check=False)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


def _database_url(kind: str, postgres: PostgresServer, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield sqlite_url(directory)
        return
    if postgres.admin_url is None:
        pytest.skip(f"PostgreSQL unavailable: {postgres.reason}")
    with postgres.database() as url:
        yield url


@pytest.fixture(params=DB_KINDS)
def database_url(request: pytest.FixtureRequest, postgres: PostgresServer,
                 tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind, one per test."""
    yield from _database_url(request.param, postgres, tmp_path)


@pytest.fixture(scope="module", params=DB_KINDS)
def module_database_url(request: pytest.FixtureRequest, postgres: PostgresServer,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database of each kind shared by one test module (for server fixtures)."""
    yield from _database_url(request.param, postgres, tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="module")
def encryption_key() -> str:
    return Fernet.generate_key().decode()


def backend_env(database_url: str, encryption_key: str, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "ENCRYPTION_KEY": encryption_key,
            "JOBNAUT_ENV": "development", **extra}


@pytest.fixture(scope="module")
def backend(module_database_url: str, encryption_key: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A real backend process over a migrated database holding the demo jobs."""
    with run_service(
        "backend", backend_env(module_database_url, encryption_key),
        tmp_path_factory.mktemp("logs"), "--migrate", "--demo-data",
    ) as service:
        yield service
