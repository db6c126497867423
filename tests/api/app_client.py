"""An in-process backend on a fresh SQLite file, for fast tests of request handling.

The app is the real one (real database, real migrations, real middleware); only the HTTP
server is left out, so a test costs milliseconds. Use the `backend` process fixtures when
the database kind or the process matters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from jobnaut.app import schema
from jobnaut.app.db import make_engine, make_sessionmaker
from jobnaut.app.jobs.demo import load_demo_if_empty
from jobnaut.app.main import create_app
from jobnaut.config import BackendSettings
from tests.support.databases import sqlite_url


@contextmanager
def app_client(directory: Path, jobs: int = 50, **env: str) -> Iterator[TestClient]:
    values = {"DATABASE_URL": sqlite_url(directory),
              "ENCRYPTION_KEY": Fernet.generate_key().decode(),
              "JOBNAUT_ENV": "development", **env}
    settings = BackendSettings.from_env(values)
    engine = make_engine(settings.database_url)
    schema.upgrade(engine)
    load_demo_if_empty(make_sessionmaker(engine), count=jobs)
    engine.dispose()
    # raise_server_exceptions=False: a test sees the 500 a client would, not the exception.
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client
