"""Fixtures for control-plane tests: a real git repository of JobNaut with good and faulty
commits, and environment homes driven through the real `jobnaut` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import PostgresServer
from tests.support.processes import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
        env={**os.environ, "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "t@example.com",
             "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "t@example.com"},
    ).stdout.strip()


@dataclass
class SourceRepo:
    path: Path

    def commit_variant(self, name: str, edits: dict[str, tuple[str, str]]) -> str:
        """A commit on branch `name` (from main) whose files have `old` replaced by `new`."""
        git(self.path, "checkout", "-q", "-B", name, "main")
        for relative, (old, new) in edits.items():
            path = self.path / relative
            text = path.read_text()
            assert old in text, f"{old!r} not in {relative}"
            path.write_text(text.replace(old, new, 1))
        git(self.path, "commit", "-qam", f"variant {name}")
        sha = git(self.path, "rev-parse", "HEAD")
        git(self.path, "checkout", "-q", "main")
        return sha


@pytest.fixture(scope="session")
def source_repo(tmp_path_factory: pytest.TempPathFactory) -> SourceRepo:
    """This checkout's files (tracked and new, as in the working tree) as a fresh repo."""
    repo = tmp_path_factory.mktemp("source") / "jobnaut"
    listed = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others",
         "--exclude-standard"], check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for relative in filter(None, listed):
        src = REPO_ROOT / relative
        if src.is_file():
            dest = repo / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "good release")
    return SourceRepo(repo)


@dataclass
class Environment:
    home: Path
    backend_port: int
    frontend_port: int

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.backend_port}"

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.frontend_port}"

    def jobnaut(self, *args: str, check: bool = True,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "jobnaut", "--home", str(self.home), *args],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"jobnaut {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.jobnaut(*args, "--json").stdout)

    def releases(self) -> list[dict[str, Any]]:
        return list(self.json("releases"))

    def serving_release(self) -> str:
        return str(httpx.get(f"{self.api}/version", timeout=5).json()["release"])


def make_environment(home: Path, source: SourceRepo, database_url: str | None) -> Environment:
    backend, frontend = free_port(), free_port()
    env = Environment(home, backend, frontend)
    args = ["init", "--source", str(source.path), "--backend-port", str(backend),
            "--frontend-port", str(frontend), "--name", "test"]
    if database_url:
        args += ["--database-url", database_url]
    env.jobnaut(*args)
    return env


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def deployed(request: pytest.FixtureRequest, source_repo: SourceRepo, postgres: PostgresServer,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    """An environment on each database with the good release deployed and serving."""
    home = tmp_path_factory.mktemp("home") / "env"
    if request.param == "postgresql":
        if postgres.admin_url is None:
            pytest.skip(f"PostgreSQL unavailable: {postgres.reason}")
        with postgres.database() as url:
            env = make_environment(home, source_repo, url)
            yield from _up(env)
    else:
        yield from _up(make_environment(home, source_repo, None))


def _up(env: Environment) -> Iterator[Environment]:
    try:
        env.jobnaut("up")  # first deploy of main, with the demo jobs
        yield env
    finally:
        env.jobnaut("down", check=False)
