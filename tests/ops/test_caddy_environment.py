"""An environment's traffic switch is Caddy: deploys and rollbacks with nothing dropped, a
private admin socket, per-release access log lines, and pages that outlive the
application. The switch does not depend on the database: SQLite only."""

from __future__ import annotations

import json
import os
import signal
import stat
from collections.abc import Iterator

import httpx
import pytest

from tests.ops.conftest import Environment, SourceRepo, _up, make_environment
from tests.ops.helpers import TrafficLoop
from tests.support.processes import listening_tcp_ports


@pytest.fixture(scope="module")
def env(source_repo: SourceRepo, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Environment]:
    home = tmp_path_factory.mktemp("caddy-env") / "env"
    yield from _up(make_environment(home, source_repo, None))


def test_admin_is_a_private_socket_and_no_admin_port_listens(env: Environment) -> None:
    socket_path = env.home / "run" / "switch" / "caddy-admin.sock"
    mode = stat.S_IMODE(socket_path.stat().st_mode)
    assert stat.S_ISSOCK(socket_path.stat().st_mode) and mode == 0o600
    status = env.json("status")["traffic_switch"]
    assert status["running"]
    # Caddy listens on the two public ports and nothing else: no TCP admin endpoint.
    assert listening_tcp_ports(status["pid"]) == {env.backend_port, env.frontend_port}


def test_deploy_and_rollback_through_caddy_drop_nothing(env: Environment) -> None:
    first = env.serving_release()
    urls = [f"{env.api}/api/jobs?per_page=1", f"{env.api}/health", f"{env.web}/jobs?q=python"]
    with TrafficLoop(urls) as during_deploy:
        env.jobnaut("deploy", "main", "-m", "through caddy")
    second = env.serving_release()
    with TrafficLoop(urls) as during_rollback:
        env.jobnaut("rollback", "code", "--yes")
    assert env.serving_release() == first != second
    for loop in (during_deploy, during_rollback):
        assert loop.ok > 20 and loop.failures == [], loop.failures[:5]
    # Every response is attributed to the release that answered it.
    lines = [json.loads(line) for line in
             (env.home / "logs" / "access.log").read_text().splitlines() if line.strip()]
    releases = {line.get("release") for line in lines}
    assert {first, second} <= releases, releases


def test_pages_outlive_the_application(env: Environment) -> None:
    live = [p for p in env.json("status")["services"].values()
            if isinstance(p, dict) and p.get("pid")]
    for process in live:
        os.kill(process["pid"], signal.SIGKILL)
    page = httpx.get(f"{env.web}/jobs", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 503 and "JobNaut is not answering" in page.text
    status_page = httpx.get(f"{env.web}/status", timeout=10)
    assert status_page.status_code == 200 and "JobNaut status" in status_page.text
    api = httpx.get(f"{env.api}/api/jobs", headers={"Accept": "application/json"}, timeout=30)
    assert api.status_code == 503 and api.headers.get("retry-after")
    assert api.json()["error"]["code"] in ("outage", "maintenance")
    assert env.jobnaut("status", check=False).returncode == 1
    env.jobnaut("up")
    assert httpx.get(f"{env.api}/health/ready", timeout=10).status_code == 200

