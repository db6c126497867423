"""Fixtures for control-plane tests: a real git repository of JobNaut with good and faulty
commits, and environment homes driven through the real `jobnaut` command."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobnaut.ops import history
from jobnaut.ops.build import CACHE_VARIABLE
from jobnaut.ops.context import Env
from tests.support.databases import PostgresServer
from tests.support.processes import free_port
from tests.support.secrets_scan import leaks

REPO_ROOT = Path(__file__).resolve().parents[2]


# Fixed dates make a commit's sha depend on its content and parent only: the good release
# and each fault commit get the same sha in every module and on every xdist worker, so the
# shared build cache builds each of them once per session.
COMMIT_DATE = "2026-01-01T00:00:00+00:00"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
        env={**os.environ, "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "t@example.com",
             "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "t@example.com",
             "GIT_AUTHOR_DATE": COMMIT_DATE, "GIT_COMMITTER_DATE": COMMIT_DATE},
    ).stdout.strip()


@pytest.fixture(scope="session", autouse=True)
def shared_builds(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One build per commit for the whole session: every environment's `builds/<sha>` is
    hard-linked from here (jobnaut's JOBNAUT_BUILD_CACHE) instead of `git archive` + `uv sync`
    + bytecode each time. xdist workers share the folder (the build takes a lock per commit).
    Tests of the build itself unset the variable."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if hasattr(request.config, "workerinput") else base) / "builds"
    folder.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_VARIABLE, str(folder))
        yield folder


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
    outputs: list[str] = field(default_factory=list)  # every command's stdout and stderr

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
        if "--reveal" not in args:  # the operator asked to see secrets on screen
            self.outputs += [result.stdout, result.stderr]
        if check and result.returncode != 0:
            raise AssertionError(f"jobnaut {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def set_timeout(self, name: str, seconds: float) -> None:
        """Change one `[timeouts]` setting of the environment's jobnaut.toml."""
        self.set_setting(name, seconds)

    def set_setting(self, name: str, value: float) -> None:
        """Change the one setting called `name` in the environment's jobnaut.toml."""
        path = self.home / "jobnaut.toml"
        text = path.read_text()
        changed = re.sub(rf"^{name} = \S+", f"{name} = {value}", text, count=1, flags=re.M)
        assert changed != text, f"no setting {name} in {path}"
        path.write_text(changed)

    def json(self, *args: str) -> Any:
        return json.loads(self.jobnaut(*args, "--json").stdout)

    def releases(self) -> list[dict[str, Any]]:
        """What `jobnaut releases --json` prints, read in this process: a command start per
        call would cost ~0.5 s (test_deploy_and_rollback checks the command's output)."""
        return history.release_list(Env.open(self.home))

    def serving_release(self) -> str:
        return str(httpx.get(f"{self.api}/version", timeout=5).json()["release"])


def make_environment(home: Path, source: SourceRepo, database_url: str | None, *,
                     guard: bool = False) -> Environment:
    backend, frontend = free_port(), free_port()
    env = Environment(home, backend, frontend)
    args = ["init", "--source", str(source.path), "--backend-port", str(backend),
            "--frontend-port", str(frontend), "--name", "test",
            # The guard restarts killed processes and may roll back: only where a test asks.
            "--guard" if guard or os.environ.get("JOBNAUT_TEST_GUARD") else "--no-guard"]
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


# A scenario in a both-databases module whose outcome the database takes no part in (a
# refusal, the plan, the switch, the ledger): it runs on SQLite only, in the module's SQLite
# environment; the PostgreSQL one serves the module's other tests.
sqlite_only = pytest.mark.parametrize("deployed", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def deployed_sqlite(source_repo: SourceRepo,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    """The good release deployed on SQLite only, for scenarios the database takes no part in
    (processes, the switch, faulty code, configuration): a module overrides `deployed` with
    it. Scenarios where the database matters (backups, migrations, restores) use both."""
    yield from _up(make_environment(tmp_path_factory.mktemp("home") / "env", source_repo, None))


@pytest.fixture(scope="module")
def deployed_guarded(source_repo: SourceRepo,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    """The good release deployed on SQLite with its guard running: for what the guard does
    beside an operator's commands (stopping a rolled-back release kept warm, ADR 0018)."""
    yield from _up(make_environment(tmp_path_factory.mktemp("home") / "env", source_repo, None,
                                    guard=True))


def quick_outage_answers(env: Environment) -> Environment:
    """The switch answers a dead release's requests with the outage page after 0.3 s, not
    after the 5 s retry that hides a restart: for modules that kill processes on purpose
    and check what status and health say, and that assert no zero-drop switch."""
    from jobnaut.ops.drivers import traffic
    from jobnaut.ops.environment import load_home

    env.set_timeout("upstream_retry", 0.3)
    traffic.stop_switch(load_home(env.home))  # its configuration is written when it starts
    env.jobnaut("up")
    return env


def _up(env: Environment) -> Iterator[Environment]:
    env.set_timeout("stability", 0)  # the emergency procedure's rounds, back to back
    try:
        env.jobnaut("up")  # first deploy of main, with the demo jobs
        yield env
    finally:
        env.jobnaut("down", check=False)
    found = leaks(env.home, env.outputs)
    assert not found, f"a secret of the environment shows in: {found}"
