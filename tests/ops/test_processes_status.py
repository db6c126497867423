"""`status` and `health` tell the truth about every process — the traffic switch's routes,
the process each leads to, the switch itself — and exit 1 when users are not served.
A service whose private port is taken first by another program starts on another one."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobnaut.ops import pids, serving
from jobnaut.ops.actions import release_env, switching
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import driver_for, process, traffic
from jobnaut.ops.environment import Home
from tests.ops.conftest import Environment, quick_outage_answers
from tests.ops.test_database_rollback import execute, revision


@pytest.fixture(scope="module")
def deployed(deployed_sqlite: Environment) -> Environment:
    """Processes, routes and the switch are the same whatever the database: SQLite only."""
    return quick_outage_answers(deployed_sqlite)


def _status(env: Environment) -> tuple[int, dict[str, Any]]:
    result = env.jobnaut("status", "--json", check=False)
    return result.returncode, json.loads(result.stdout)


def _gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def test_healthy_environment_has_no_problems(deployed: Environment) -> None:
    code, state = _status(deployed)
    assert code == 0 and state["problems"] == []
    assert state["traffic_switch"]["running"] and state["traffic_switch"]["answering"]
    health = deployed.json("health")
    names = {c["name"] for c in health["checks"]}
    assert {"traffic switch", "live process: backend", "live process: frontend"} <= names


def test_dead_backend_is_named_and_status_and_health_exit_1(deployed: Environment) -> None:
    _, state = _status(deployed)
    pid = state["services"]["backend"]["pid"]
    os.kill(pid, signal.SIGKILL)
    _gone(pid)

    text = deployed.jobnaut("status", check=False)
    assert text.returncode == 1
    assert "problem:" in text.stdout and "backend" in text.stdout and str(pid) in text.stdout
    code, state = _status(deployed)  # asked again: the route still leads to nothing
    assert code == 1
    assert any(p.startswith("backend: routed to port") for p in state["problems"])
    health = deployed.jobnaut("health", "--json", check=False)
    assert health.returncode == 1
    assert "live process: backend" in health.stdout

    deployed.jobnaut("up")
    assert _status(deployed)[0] == 0


def test_dead_traffic_switch_is_named_and_status_exits_1(deployed: Environment) -> None:
    _, state = _status(deployed)
    pid = state["traffic_switch"]["pid"]
    os.kill(pid, signal.SIGKILL)
    _gone(pid)

    code, state = _status(deployed)
    assert code == 1
    assert not state["traffic_switch"]["running"]
    assert any("traffic switch is not running" in p for p in state["problems"])
    text = deployed.jobnaut("status", check=False)
    assert text.returncode == 1 and "healthy: yes" not in text.stdout
    assert "traffic switch: down" in text.stdout
    assert deployed.jobnaut("health", check=False).returncode == 1

    deployed.jobnaut("up")  # starts the switch again, with its routes
    assert _status(deployed)[0] == 0
    assert httpx.get(f"{deployed.api}/health", timeout=5).status_code == 200


def test_health_and_status_exit_1_while_readiness_fails(deployed: Environment) -> None:
    good = revision(deployed)
    execute(deployed, "UPDATE alembic_version SET version_num = 'elsewhere'")
    try:
        health = deployed.jobnaut("health", check=False)
        assert health.returncode == 1 and "✗" in health.stdout
        code, state = _status(deployed)
        assert code == 1
        assert any("backend" in p and "not ready" in p for p in state["problems"])
    finally:
        execute(deployed, f"UPDATE alembic_version SET version_num = '{good}'")
    assert deployed.jobnaut("health", check=False).returncode == 0


def test_taken_port_is_retried_and_status_follows_the_routes(deployed: Environment) -> None:
    env = Env.open(deployed.home)
    active = env.require_active()
    with socket.socket() as squatter:  # another program holds the port the service is given
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        # The process driver's own retry (a port is the process driver's to choose).
        first = process.start_service(env.home, env.ledger, release_id=active.id,
                                      build_dir=env.home.build_dir(active.ref),
                                      service="frontend",
                                      env=release_env.service_env(env, active, "frontend"),
                                      port=taken)
        proc = process.wait_healthy(first, env.home.config.start_timeout)
    runs = driver_for(env.home)
    assert proc.port != taken and runs.alive(proc)
    assert first.id not in {p.id for p in env.ledger.running_processes()}
    assert any("was taken by another program" in e["message"] for e in env.ledger.events(10))

    live = switching.live_processes(env, "frontend")[0]
    traffic.route(env.home, "frontend", proc.port)  # as a switch or rollback does mid-way
    try:
        code, state = _status(deployed)
        assert code == 0, state["problems"]
        frontend = state["services"]["frontend"]
        assert frontend["pid"] == proc.pid and frontend["role"] == "candidate"
        assert live.pid in {s["pid"] for s in state["services"]["standby"]}
        report = serving.inspect(env)
        assert report.services["frontend"].process == proc
    finally:
        traffic.route(env.home, "frontend", live.port)
        runs.stop_process(env.ledger, proc, 5)
    assert _status(deployed)[0] == 0


def test_traffic_switch_is_known_by_pid_and_start_time(deployed: Environment,
                                                      tmp_path: Path) -> None:
    env = Env.open(deployed.home)
    identity = traffic.switch_identity(env.home)
    assert identity is not None
    pid, ticks = identity
    assert ticks is not None and ticks == pids.start_ticks(pid)
    assert traffic.switch_running(env.home)
    # The same pid with another start time (a reused pid) is not the switch.
    elsewhere = Home(root=tmp_path, config=env.home.config)
    pid_file = traffic.traffic_switch(elsewhere).layout.pid_file
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text(json.dumps({"pid": pid, "start_ticks": ticks + 1}))
    assert not traffic.switch_running(elsewhere)
    traffic.stop_switch(elsewhere)  # must not stop the real one
    assert traffic.switch_running(env.home)
