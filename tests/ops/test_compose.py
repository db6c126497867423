"""The compose driver end to end on a real Docker engine (scripts/docker-engine): releases
as images and Compose projects behind the same traffic switch, with the same guarantees as
processes. One environment and one image per commit for the whole module."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.ops.compose_env import compose_environment, engine, unique_name
from tests.ops.conftest import Environment, SourceRepo
from tests.ops.helpers import TrafficLoop, UserData
from tests.support.docker import DockerEngine
from tests.support.inbox import wait_for

pytestmark = pytest.mark.compose
__all__ = ["engine"]  # the module's fixture


NAME = unique_name("ct")


@pytest.fixture(scope="module")
def compose_env(engine: DockerEngine, source_repo: SourceRepo,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    yield from compose_environment(engine, source_repo,
                                   tmp_path_factory.mktemp("compose") / "env", NAME)


def containers(engine: DockerEngine, env: Environment) -> dict[str, str]:
    """Running containers of this environment: name -> the release label."""
    name = f"jobnaut-{NAME}-"
    out = engine.docker("ps", "--filter", f"name={name}", "--format",
                        '{{.Names}} {{.Label "jobnaut.release"}}')
    return dict(line.split() for line in out.splitlines() if line.strip())


def active(env: Environment) -> str:
    return str(env.json("status")["active_release"])


def test_a_deploy_runs_the_release_as_a_compose_project(compose_env: Environment,
                                                       engine: DockerEngine) -> None:
    first = active(compose_env)
    assert compose_env.serving_release() == first
    project = f"jobnaut-{NAME}-{first}"
    assert containers(engine, compose_env) == {f"{project}-backend": first,
                                               f"{project}-frontend": first}
    ids = engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    commit = compose_env.releases()[0]["ref"]
    assert f"jobnaut-{NAME}:{commit}" in ids  # an image per commit, tagged with it
    # The container's output is the service's log.
    assert "Uvicorn running" in compose_env.jobnaut("logs", "backend").stdout
    # Settings reach the container through an env file only the owner reads.
    env_file = compose_env.home / "run" / "compose" / first / "backend.env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    assert "ENCRYPTION_KEY" not in (env_file.parent / "backend.json").read_text()


def test_deploy_and_code_rollback_drop_no_request(compose_env: Environment,
                                                  engine: DockerEngine) -> None:
    user = UserData(compose_env.api).create()
    first = active(compose_env)
    urls = [f"{compose_env.api}/api/jobs?q=engineer", f"{compose_env.web}/"]
    with TrafficLoop(urls) as during_deploy:
        compose_env.jobnaut("deploy", "main", "--reason", "second release")
    second = active(compose_env)
    assert second != first and compose_env.serving_release() == second
    # The previous release is kept warm: its containers still run, out of traffic.
    assert set(containers(engine, compose_env).values()) == {first, second}

    with TrafficLoop(urls) as during_rollback:
        result = compose_env.jobnaut("rollback", "code", "--yes")
    assert "succeeded" in result.stdout
    assert during_deploy.failures == [] and during_deploy.ok > 10
    assert during_rollback.failures == [] and during_rollback.ok > 10
    assert active(compose_env) == first and compose_env.serving_release() == first
    assert {r["id"]: r["status"] for r in compose_env.releases()}[second] == "rolled_back"
    assert set(containers(engine, compose_env).values()) == {first}
    user.assert_intact(compose_env.api)


def test_a_failed_release_never_takes_traffic(compose_env: Environment, source_repo: SourceRepo,
                                              engine: DockerEngine) -> None:
    serving = active(compose_env)
    sha = source_repo.commit_variant("compose-unready", {
        "src/jobnaut/app/system/readiness.py": ('return True, "valid"',
                                                'return False, "broken on purpose"')})
    result = compose_env.jobnaut("deploy", sha, check=False)
    assert result.returncode == 1
    assert "failed its checks" in result.stdout + result.stderr
    newest = compose_env.releases()[0]  # newest first
    assert newest["ref"] == sha and newest["status"] == "failed"
    assert active(compose_env) == serving and compose_env.serving_release() == serving
    # Its containers are gone; the serving release's stay.
    assert newest["id"] not in set(containers(engine, compose_env).values())
    assert serving in set(containers(engine, compose_env).values())


def test_a_configuration_change_and_its_rollback(compose_env: Environment) -> None:
    before = active(compose_env)
    compose_env.jobnaut("config", "set", "API_TIMEOUT_SECONDS=7")
    changed = active(compose_env)
    assert changed != before and compose_env.serving_release() == changed
    env_file = compose_env.home / "run" / "compose" / changed / "frontend.env"  # reads it
    assert "API_TIMEOUT_SECONDS=7" in env_file.read_text()

    compose_env.jobnaut("rollback", "config", "--yes")
    restored = active(compose_env)
    assert restored not in (before, changed) and compose_env.serving_release() == restored
    restored_file = compose_env.home / "run" / "compose" / restored / "frontend.env"
    assert "API_TIMEOUT_SECONDS=7" not in restored_file.read_text()


def test_a_killed_backend_container_is_seen_and_started_again(compose_env: Environment,
                                                              engine: DockerEngine) -> None:
    serving = active(compose_env)
    name = f"jobnaut-{NAME}-{serving}-backend"
    engine.docker("kill", name)
    seen = compose_env.jobnaut("status", "--json", check=False)
    assert seen.returncode == 1  # a serving process is dead: status fails
    status = json.loads(seen.stdout)
    backend = status["services"]["backend"]
    assert backend["alive"] is False, json.dumps(backend)
    assert any("backend" in p and "died" in p for p in status["problems"])

    compose_env.jobnaut("up")
    wait_for(lambda: httpx.get(f"{compose_env.api}/health", timeout=5).status_code == 200,
             timeout=30)
    assert compose_env.serving_release() == serving
    assert name in containers(engine, compose_env)
    assert compose_env.json("status")["services"]["backend"]["alive"] is True
