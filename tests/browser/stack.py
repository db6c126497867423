"""The real JobNaut stack for frontend tests: a backend process over a fresh SQLite
database with the demo jobs, and a frontend process reading it over HTTP.

Shared by tests/test_web_*.py and the browser tests; each caller owns its stack, so a
test module never sees another module's users or saved jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from tests.support.databases import sqlite_url
from tests.support.processes import Service, run_service


@dataclass
class Stack:
    backend: Service
    frontend: Service

    @property
    def url(self) -> str:
        return self.frontend.url


@contextmanager
def run_backend(directory: Path, **extra_env: str) -> Iterator[Service]:
    env = {
        "DATABASE_URL": sqlite_url(directory),
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "JOBNAUT_ENV": "development",
        **extra_env,
    }
    with run_service("backend", env, directory, "--migrate", "--demo-data") as service:
        yield service


@contextmanager
def run_frontend(api_base_url: str, directory: Path, **extra_env: str) -> Iterator[Service]:
    env = {"API_BASE_URL": api_base_url, "JOBNAUT_ENV": "development", **extra_env}
    with run_service("frontend", env, directory) as service:
        yield service


@contextmanager
def run_stack(directory: Path) -> Iterator[Stack]:
    with run_backend(directory) as backend, run_frontend(backend.url, directory) as frontend:
        yield Stack(backend=backend, frontend=frontend)
