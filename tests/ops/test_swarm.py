"""The swarm driver end to end on a real three-node Docker Swarm (tests/support/swarm.py):
each release a stack whose tasks run on the nodes, the switch on the manager (the edge)
routing to them, with the same guarantees as on one host. One cluster, one environment and
one image per commit for the whole module.

The test process itself runs in the manager's network namespace for the module (the
operator at the edge): its clients and the `jobnaut` commands it starts reach the switch
and the tasks as an operator there would. PostgreSQL is the machine's, relayed to the
manager's address for every node."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.ops.conftest import Environment, SourceRepo
from tests.ops.helpers import TrafficLoop, UserData
from tests.ops.test_database_rollback import (
    ADD_NICKNAME,
    HEAD,
    commit_migration,
    emails,
    execute,
    revision,
    sign_up,
)
from tests.support.databases import PostgresServer
from tests.support.docker import start_engine
from tests.support.inbox import wait_for
from tests.support.processes import free_port
from tests.support.swarm import SwarmCluster, can_run, inside

pytestmark = [pytest.mark.swarm, pytest.mark.postgres]

NAME = f"sw{os.getpid()}"
BASE_TARBALL = Path(os.environ.get("JOBNAUT_BASE_TARBALL",
                                   "/var/cache/jobnaut/base-bookworm.tar"))
BASE_IMAGE = "jobnaut-base:bookworm"
TIMINGS: dict[str, float] = {}
LOSS_MOMENT = 3.0  # seconds after a node's loss in which its in-flight requests may fail


@pytest.fixture(scope="module")
def cluster(postgres: PostgresServer) -> Iterator[SwarmCluster]:
    reason = can_run()
    if reason:
        pytest.skip(reason)
    if postgres.admin_url is None:
        pytest.skip(f"PostgreSQL unavailable: {postgres.reason}")
    if not BASE_TARBALL.exists():  # scripts/docker-engine makes it once per machine
        engine = start_engine()
        if engine.host is None or not BASE_TARBALL.exists():
            pytest.skip(f"no base image tarball: {engine.reason or BASE_TARBALL}")
    made = SwarmCluster(f"jns{os.getpid() % 100000}", Path(f"/var/lib/jobnaut-swarm/{NAME}"))
    try:
        made.up()
        started = time.monotonic()
        made.import_image(BASE_TARBALL, BASE_IMAGE, [made.manager])  # releases build there
        made.timings["base image"] = time.monotonic() - started
        yield made
    finally:
        made.teardown()
        _write_timings("cluster", made.timings)
        assert made.leftovers() == []


def _write_timings(what: str, timings: dict[str, float] | dict[str, int]) -> None:
    """Measured figures appended to a file (JOBNAUT_SWARM_TIMINGS) for the notes: seconds,
    or counts."""
    line = ", ".join(f"{k} {v:.1f}s" if isinstance(v, float) else f"{k} {v}"
                     for k, v in timings.items())
    path = Path(os.environ.get("JOBNAUT_SWARM_TIMINGS", "/tmp/jobnaut-swarm-timings.txt"))
    with path.open("a") as out:
        out.write(f"{time.strftime('%H:%M:%S')} {what}: {line}\n")


@pytest.fixture(scope="module")
def swarm_env(cluster: SwarmCluster, postgres: PostgresServer, source_repo: SourceRepo,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    home = tmp_path_factory.mktemp("swarm") / "env"
    reached = cluster.relay(make_url(str(postgres.admin_url)).port or 5432)
    with postgres.database() as url:
        host, port = reached.split(":")
        database = make_url(url).set(host=host, port=int(port)).render_as_string(False)
        # No network in there: builds use uv's cache only (as CI's builds do, warmed).
        with inside(cluster.manager.netns), _environ(UV_OFFLINE="1"):
            env = Environment(home, free_port(), free_port())
            env.jobnaut("init", "--source", str(source_repo.path), "--driver", "swarm",
                        "--manager", cluster.manager.host,
                        *(a for n in cluster.nodes for a in ("--node", n.host)),
                        "--edge", cluster.manager.address, "--base-image", BASE_IMAGE,
                        "--database-url", database, "--name", NAME,
                        "--backend-port", str(env.backend_port),
                        "--frontend-port", str(env.frontend_port), "--no-guard")
            env.set_timeout("stability", 0)
            env.set_timeout("start", 180)
            try:
                started = time.monotonic()
                env.jobnaut("up", timeout=900)
                TIMINGS["first deploy (image built and loaded)"] = \
                    time.monotonic() - started
                yield env
            finally:
                env.jobnaut("down", check=False)


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def stacks(cluster: SwarmCluster) -> dict[str, list[str]]:
    """This environment's services: name -> the nodes of its running tasks."""
    names = cluster.manager.docker("service", "ls", "--format", "{{.Name}}").split()
    found = {}
    for name in (n for n in names if n.startswith(f"jobnaut-{NAME}-")):
        tasks = cluster.manager.docker("service", "ps", "--filter", "desired-state=running",
                                       "--format", "{{.Node}} {{.CurrentState}}", name)
        found[name] = sorted(line.split()[0] for line in tasks.splitlines()
                             if " Running" in line)
    return found


def active(env: Environment) -> str:
    return str(env.json("status")["active_release"])


def upstreams(env: Environment, service: str) -> set[str]:
    run = env.home / "run" / "switch"
    return {path.read_text().strip() for path in run.glob(f"upstream-{service}*")}


def test_a_deploy_runs_the_release_as_a_stack_across_the_nodes(
        swarm_env: Environment, cluster: SwarmCluster) -> None:
    first = active(swarm_env)
    assert swarm_env.serving_release() == first
    services = stacks(cluster)
    assert set(services) == {f"jobnaut-{NAME}-{first}_backend",
                             f"jobnaut-{NAME}-{first}_frontend"}
    for nodes in services.values():  # two tasks each, on two different nodes
        assert len(nodes) == 2 and len(set(nodes)) == 2, services
    # The image is on every node (no registry); tagged with the commit.
    commit = swarm_env.releases()[0]["ref"]
    for node in cluster.nodes:
        assert f"jobnaut-{NAME}:{commit}" in node.docker(
            "images", "--format", "{{.Repository}}:{{.Tag}}").split()
    # The switch dials the tasks at their nodes' addresses, not loopback.
    hosts = {u.rsplit(":", 1)[0] for u in upstreams(swarm_env, "backend")}
    assert len(hosts) == 2 and all(h.startswith("10.234.0.") for h in hosts)
    # The frontend (on any node) reaches the API through the switch at the edge.
    assert httpx.get(f"{swarm_env.web}/", timeout=10).status_code == 200
    assert "Uvicorn running" in swarm_env.jobnaut("logs", "backend").stdout


def test_deploy_and_code_rollback_drop_no_request(swarm_env: Environment,
                                                  cluster: SwarmCluster) -> None:
    user = UserData(swarm_env.api).create()
    first = active(swarm_env)
    urls = [f"{swarm_env.api}/api/jobs?q=engineer", f"{swarm_env.web}/"]
    started = time.monotonic()
    with TrafficLoop(urls) as during_deploy:
        swarm_env.jobnaut("deploy", "main", "--reason", "second release")
    TIMINGS["deploy"] = time.monotonic() - started
    second = active(swarm_env)
    assert second != first and swarm_env.serving_release() == second
    # The previous release is kept warm: its stack's tasks still run, out of traffic.
    assert {n.split("_")[0].rsplit("-", 1)[1] for n in stacks(cluster)} == {first, second}

    started = time.monotonic()
    with TrafficLoop(urls) as during_rollback:
        result = swarm_env.jobnaut("rollback", "code", "--yes")
    TIMINGS["code rollback"] = time.monotonic() - started
    assert "succeeded" in result.stdout
    assert during_deploy.failures == [] and during_deploy.ok > 10
    assert during_rollback.failures == [] and during_rollback.ok > 10
    assert active(swarm_env) == first and swarm_env.serving_release() == first
    assert {r["id"]: r["status"] for r in swarm_env.releases()}[second] == "rolled_back"
    user.assert_intact(swarm_env.api)
    _write_timings("operations", TIMINGS)


def test_a_failed_release_never_takes_traffic(swarm_env: Environment, source_repo: SourceRepo,
                                              cluster: SwarmCluster) -> None:
    serving = active(swarm_env)
    sha = source_repo.commit_variant("swarm-unready", {
        "src/jobnaut/app/system/readiness.py": ('return True, "valid"',
                                                'return False, "broken on purpose"')})
    result = swarm_env.jobnaut("deploy", sha, check=False, timeout=900)
    assert result.returncode == 1
    assert "failed its checks" in result.stdout + result.stderr
    newest = swarm_env.releases()[0]
    assert newest["ref"] == sha and newest["status"] == "failed"
    assert active(swarm_env) == serving and swarm_env.serving_release() == serving
    # Its stack is gone; the serving release's stays.
    releases = {n.split("_")[0].rsplit("-", 1)[1] for n in stacks(cluster)}
    assert newest["id"] not in releases and serving in releases


def test_a_configuration_change_and_its_rollback(swarm_env: Environment) -> None:
    before = active(swarm_env)
    swarm_env.jobnaut("config", "set", "API_TIMEOUT_SECONDS=7")
    changed = active(swarm_env)
    assert changed != before and swarm_env.serving_release() == changed
    env_file = swarm_env.home / "run" / "swarm" / changed / "frontend.env"
    assert "API_TIMEOUT_SECONDS=7" in env_file.read_text()
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"

    started = time.monotonic()
    swarm_env.jobnaut("rollback", "config", "--yes")
    TIMINGS["config rollback"] = time.monotonic() - started
    restored = active(swarm_env)
    assert restored not in (before, changed) and swarm_env.serving_release() == restored
    restored_file = swarm_env.home / "run" / "swarm" / restored / "frontend.env"
    assert "API_TIMEOUT_SECONDS=7" not in restored_file.read_text()


def test_migration_rollback_keeps_rows_written_after_the_deploy(
        swarm_env: Environment, source_repo: SourceRepo) -> None:
    before_deploy = sign_up(swarm_env)
    first = active(swarm_env)
    sha = commit_migration(source_repo, "swarm-nickname", "0921", ADD_NICKNAME)
    swarm_env.jobnaut("deploy", sha, timeout=900)
    assert revision(swarm_env) == "0921"
    after_deploy = sign_up(swarm_env)
    execute(swarm_env, f"UPDATE users SET nickname = 'ada' WHERE email = '{after_deploy}'")

    started = time.monotonic()
    swarm_env.jobnaut("rollback", "migration", "--yes")
    TIMINGS["migration rollback"] = time.monotonic() - started
    assert revision(swarm_env) == HEAD
    assert {before_deploy, after_deploy} <= emails(swarm_env)
    assert active(swarm_env) == first
    assert httpx.get(f"{swarm_env.api}/health/ready", timeout=10).status_code == 200
    # Backups of the cluster's database went through the same manifests.
    kinds = {b["kind"] for b in swarm_env.json("backup", "list")}
    assert "pre-deploy" in kinds and kinds & {"safety", "pre-downgrade"}
    _write_timings("operations", TIMINGS)


def put_lease(cluster: SwarmCluster, expires_in: float) -> None:
    """Another operator's lease, as their `jobnaut` leaves it in the cluster."""
    holder = {"kind": "deploy", "host": "laptop-2", "user": "grace", "pid": 4242,
              "home": "/elsewhere", "token": "theirs", "started": int(time.time()),
              "expires": int(time.time() + expires_in)}
    subprocess.run(["docker", "--host", cluster.manager.host, "config", "create",
                    f"jobnaut-{NAME}-lease", "-"], input=json.dumps(holder), text=True,
                   check=True, capture_output=True, timeout=30)


def test_a_second_operator_is_kept_out_by_the_cluster_lease(swarm_env: Environment,
                                                            cluster: SwarmCluster) -> None:
    put_lease(cluster, expires_in=3600)
    refused = swarm_env.jobnaut("up", check=False)
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert "another operator" in said and "grace@laptop-2" in said and "/elsewhere" in said
    assert f"jobnaut-{NAME}-lease" in cluster.manager.docker("config", "ls")  # theirs stays

    # A lease whose holder died is taken over once it has expired; ours is removed at the end.
    cluster.manager.docker("config", "rm", f"jobnaut-{NAME}-lease")
    put_lease(cluster, expires_in=-1)
    swarm_env.jobnaut("up")
    assert f"jobnaut-{NAME}-lease" not in cluster.manager.docker("config", "ls")


def test_a_lost_worker_is_named_and_the_service_keeps_answering(
        swarm_env: Environment, cluster: SwarmCluster) -> None:
    serving = active(swarm_env)
    backend = f"jobnaut-{NAME}-{serving}_backend"
    on = stacks(cluster)[backend]
    lost = next(n for n in cluster.nodes[1:] if n.name in on)  # a worker with a task
    urls = [f"{swarm_env.api}/api/jobs?q=engineer", f"{swarm_env.web}/"]
    with TrafficLoop(urls) as at_the_loss:
        time.sleep(1)
        cluster.stop_node(lost)
        time.sleep(LOSS_MOMENT)
    # Then Swarm sees the node Down (~13 s) and starts its tasks elsewhere (~19 s): all
    # along, the switch passes over the lost task.
    with TrafficLoop(urls) as after_the_loss:
        wait_for(lambda: any(lost.name in p for p in
                             json.loads(swarm_env.jobnaut("status", "--json", check=False)
                                        .stdout)["problems"]), timeout=60)
        wait_for(lambda: lost.name not in stacks(cluster)[backend]
                 and len(stacks(cluster)[backend]) == 2, timeout=90)
    # Requests in flight on the lost node when it went may fail (a machine lost is a
    # crash); a few at most, and none after.
    _write_timings("node loss", {"requests failed at the loss": len(at_the_loss.failures),
                                 "answered at the loss": at_the_loss.ok,
                                 "answered after it": after_the_loss.ok})
    assert len(at_the_loss.failures) <= 3 and at_the_loss.ok > 5, at_the_loss.failures
    assert after_the_loss.failures == [] and after_the_loss.ok > 10, after_the_loss.failures
    seen = swarm_env.jobnaut("status", check=False)
    assert seen.returncode == 1  # a problem: the lost node, named
    assert f"problem: node {lost.name} ({lost.address}) is down" in seen.stdout

    # The switch follows the tasks Swarm moved (the guard does this on its rounds; `up`
    # too): every upstream is a running task again.
    swarm_env.jobnaut("up")
    hosts = {u.rsplit(":", 1)[0] for u in upstreams(swarm_env, "backend")}
    assert lost.address not in hosts and len(hosts) == 2
    assert swarm_env.serving_release() == serving
    cluster.restart_node(lost)
