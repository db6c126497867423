"""The swarm driver (ADR 0012): past one machine. A release is the compose driver's image per
commit, loaded on every node (there is no registry); each release's services are deployed as
one Docker Swarm stack, `jobnaut-ENV-vN`, with `docker stack deploy` and a compose file.

Why the stack looks like this (measured on Docker 20.10 in namespaces, issue 16):
- Tasks use each node's host network on the release's own port, at most one per node. There
  is no IPVS, so neither the routing mesh nor service VIPs answer; the switch (Caddy, on the
  edge) dials a task at its node's address instead, and a new port per release means a new
  release never waits for an old task's port (a rolling update of host-mode ports leaves a
  task Pending for about a minute).
- A stack per release, never `service update`: the previous release's tasks keep running
  until it is retired, so a rollback is a switch, as on one host. Swarm's own update and
  rollback are not used (ADR 0012 says why).
- `--resolve-image never`: the image is on every node; the swarm would first ask Docker Hub.
- `init: true` and a short stop grace: SIGTERM reaches uvicorn, which finishes its requests.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from jobnaut.ops import probe, runner
from jobnaut.ops.drivers import process
from jobnaut.ops.drivers.compose import APP_DIR, ComposeDriver, write_env_file
from jobnaut.ops.drivers.traffic import SWARM_SLOTS
from jobnaut.ops.environment import Home
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import Ledger, ProcessRecord, Release

# Tasks per service, on different nodes: a lost node leaves one answering. The switch has as
# many upstream slots.
REPLICAS = SWARM_SLOTS


class SwarmDriver(ComposeDriver):
    """`base.Driver` with Docker Swarm: the build and the image are the compose driver's."""

    kind = "swarm"

    def _env(self) -> dict[str, str]:
        return {"DOCKER_HOST": str(self.settings.manager)}

    def _nodes(self) -> tuple[str, ...]:
        return self.settings.nodes or (str(self.settings.manager),)

    @staticmethod
    def stack(home: Home, release_id: int) -> str:
        return ComposeDriver.project(home, release_id)

    def service_name(self, release_id: int, service: str) -> str:
        return f"{self.stack(self.home, release_id)}_{service}"

    # Images on every node --------------------------------------------------------------

    def prepare(self, home: Home, commit: str) -> str:
        said = super().prepare(home, commit)  # built (or found) on the manager
        tag = self.image(home, commit)
        loaded = 0
        for node in self._nodes():
            if node == self.settings.manager or _has_image(node, tag):
                continue
            _copy_image(str(self.settings.manager), node, tag)
            loaded += 1
        return said + (f"; loaded on {loaded} more node(s)" if loaded else "")

    def discard(self, home: Home, commit: str) -> None:
        super().discard(home, commit)
        for node in self._nodes():
            subprocess.run(["docker", "--host", node, "rmi", self.image(home, commit)],
                           capture_output=True, timeout=120, check=False)

    # Services as stacks ----------------------------------------------------------------

    def start_service(self, home: Home, ledger: Ledger, *, release: Release, service: str,
                      env: Mapping[str, str], role: str = "candidate") -> ProcessRecord:
        port = process.free_port()  # on the edge; every task listens on it on its node
        folder = home.run / "swarm" / f"v{release.id}"
        env_file = write_env_file(folder, service, env, port)
        stack_file = folder / f"{service}.json"  # JSON is YAML
        stack_file.write_text(json.dumps(self._stack(home, release, service, port, env_file),
                                         indent=2))
        log = process.log_path(home, release.id, service)
        home.logs.mkdir(parents=True, exist_ok=True)
        name = self.service_name(release.id, service)
        with log.open("ab") as out:
            out.write(f"--- v{release.id} {service} starting on port {port} "
                      f"(swarm service {name}, {REPLICAS} tasks)\n".encode())
        self.docker("stack", "deploy", "--resolve-image", "never", "--compose-file",
                    str(stack_file), self.stack(home, release.id), timeout=120)
        self._follow_service_log(name, log)
        process_id = ledger.add_process(release_id=release.id, service=service, pid=0,
                                        port=port, role=role, log=str(log), start_ticks=None)
        return ledger.process(process_id)

    def _stack(self, home: Home, release: Release, service: str, port: int,
               env_file: Path) -> dict[str, object]:
        drain = int(home.config.drain_timeout)
        probe = (f"import urllib.request; urllib.request.urlopen("
                 f"'http://127.0.0.1:{port}/health', timeout=2)")
        labels = {"jobnaut.release": release.name, "jobnaut.service": service,
                  "jobnaut.commit": release.ref, "jobnaut.port": str(port)}
        return {"version": "3.8", "services": {service: {
            "image": self.image(home, release.ref),
            "command": ["serve", service, "--host", "0.0.0.0", "--port", str(port),
                        "--graceful-timeout", str(drain)],
            "init": True,
            "env_file": [str(env_file)],
            "networks": ["hostnet"],
            "stop_grace_period": f"{drain + 1}s",
            "labels": labels,
            # Forgiving (5 misses of 5 s): a probe is a Python start, slow on a loaded
            # node, and a task Swarm kills for slowness is an outage the release did not cause.
            "healthcheck": {"test": ["CMD", f"{APP_DIR}/.venv/bin/python", "-c", probe],
                            "interval": "2s", "timeout": "5s", "retries": 5,
                            "start_period": f"{int(home.config.start_timeout)}s"},
            "deploy": {
                "replicas": REPLICAS,
                "placement": {"max_replicas_per_node": 1},
                "labels": labels,
                # Swarm restarts a dead task (on another node when its node is lost); the
                # guard sees the service through the switch as before.
                "restart_policy": {"condition": "any", "delay": "2s"},
            },
        }}, "networks": {"hostnet": {"external": True, "name": "host"}}}

    def _follow_service_log(self, name: str, log: Path) -> None:
        with log.open("ab") as out:
            subprocess.Popen(["docker", "service", "logs", "--follow", "--raw", name],
                             env={**os.environ, **self._env()}, stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)

    # Tasks -----------------------------------------------------------------------------

    def tasks(self, release_id: int, service: str) -> list[dict[str, str]]:
        """The service's tasks: state, desired state, node name and address, error."""
        result = subprocess.run(
            ["docker", "service", "ps", "--no-trunc", "--format", "{{json .}}",
             self.service_name(release_id, service)],
            env={**os.environ, **self._env()}, capture_output=True, text=True, timeout=30,
            check=False)
        if result.returncode != 0:
            return []
        found = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        addresses = self.node_addresses()
        return [{"state": t["CurrentState"].split()[0].lower(), "desired": t["DesiredState"],
                 "node": t["Node"], "address": addresses.get(t["Node"], ""),
                 "error": t.get("Error", "")} for t in found]

    def node_addresses(self) -> dict[str, str]:
        nodes = self.nodes()
        return {n["name"]: n["address"] for n in nodes}

    def nodes(self) -> list[dict[str, str]]:
        """Every node: name, address, state (ready/down), availability."""
        result = subprocess.run(["docker", "node", "ls", "--quiet"],
                                env={**os.environ, **self._env()}, capture_output=True,
                                text=True, timeout=30, check=False)
        ids = result.stdout.split()
        if result.returncode != 0 or not ids:
            return []
        inspected = subprocess.run(
            ["docker", "node", "inspect", "--format",
             "{{.Description.Hostname}} {{.Status.Addr}} {{.Status.State}} "
             "{{.Spec.Availability}}", *ids],
            env={**os.environ, **self._env()}, capture_output=True, text=True, timeout=30,
            check=False)
        found = []
        for line in inspected.stdout.splitlines():
            name, address, state, availability = line.split()
            found.append({"name": name, "address": address, "state": state,
                          "availability": availability})
        return found

    def running_addresses(self, record: ProcessRecord) -> list[str]:
        """Where the service's tasks run. "starting" counts: its container runs, and only
        Swarm's healthcheck (every 2 s) has not passed yet; our own checks ask it directly."""
        return sorted(t["address"] for t in self.tasks(record.release_id, record.service)
                      if t["state"] in ("running", "starting")
                      and t["desired"].lower() == "running" and t["address"])

    def wait_healthy(self, process_record: ProcessRecord, timeout: float) -> ProcessRecord:
        """Every task answers /health (a check before traffic covers each node), or the
        first failed task's error and log lines."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tasks = self.tasks(process_record.release_id, process_record.service)
            failed = [t for t in tasks if t["state"] in ("failed", "rejected")]
            if failed:
                raise OpsError(f"{process_record.service} of v{process_record.release_id} "
                               f"failed on node {failed[0]['node']} during start "
                               f"({failed[0]['error'] or failed[0]['state']}); last log "
                               f"lines: {self._last_lines(process_record)}")
            addresses = self.running_addresses(process_record)
            if len(addresses) >= REPLICAS and all(
                    _healthy(f"http://{a}:{process_record.port}") for a in addresses):
                return process_record
            time.sleep(0.3)
        raise OpsError(f"{process_record.service} of v{process_record.release_id} did not "
                       f"answer /health on {REPLICAS} nodes within {timeout:.0f}s")

    def _last_lines(self, record: ProcessRecord) -> str:
        result = subprocess.run(["docker", "service", "logs", "--raw", "--tail", "5",
                                 self.service_name(record.release_id, record.service)],
                                env={**os.environ, **self._env()}, capture_output=True,
                                text=True, timeout=30, check=False)
        lines = (result.stdout + result.stderr).strip().splitlines()
        return " | ".join(lines[-5:]) or process.tail(Path(record.log), 5)

    def task_hosts(self, port: int) -> list[str]:
        """Where the switch sends a release's traffic: the node addresses of the running
        tasks of the service that listens on `port` (the port is the release's own)."""
        record = self._record_by_port(port)
        return self.running_addresses(record) if record else []

    def _record_by_port(self, port: int) -> ProcessRecord | None:
        ledger = Ledger(self.home.root / "ledger.db")
        return next((p for p in ledger.running_processes() if p.port == port), None)

    def address(self, process_record: ProcessRecord) -> str:
        """A task that answers /health now, else the first: Swarm may be replacing one task
        (a failed healthcheck, a lost node) while the others serve, and a check through the
        task being replaced would judge the release by a container that is not there."""
        urls = [f"http://{h}:{process_record.port}"
                for h in self.task_hosts(process_record.port) or ["127.0.0.1"]]
        return next((u for u in urls if _healthy(u)), urls[0])

    def alive(self, process_record: ProcessRecord) -> bool:
        return bool(self.running_addresses(process_record))

    def stop_process(self, ledger: Ledger, process_record: ProcessRecord, grace: float) -> None:
        """The service removed: each task gets SIGTERM through init and finishes its
        requests within the stop grace; the stack goes with its last service."""
        runner.run(["docker", "service", "rm",
                    self.service_name(process_record.release_id, process_record.service)],
                   env=self._env(), timeout=60) if self._exists(process_record) else None
        ledger.process_stopped(process_record.id)

    def _exists(self, record: ProcessRecord) -> bool:
        return self._inspect_service(record) is not None

    def _inspect_service(self, record: ProcessRecord) -> str | None:
        result = subprocess.run(["docker", "service", "inspect", "--format", "{{.ID}}",
                                 self.service_name(record.release_id, record.service)],
                                env={**os.environ, **self._env()}, capture_output=True,
                                text=True, timeout=30, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    def ensure_database(self, home: Home, database_url: str) -> str | None:
        return None  # a PostgreSQL the cluster reaches, named by DATABASE_URL

    def stop_database(self, home: Home) -> bool:
        return False

    def problems(self) -> list[str]:
        """Nodes that are not ready (a lost machine), named: what `status` shows."""
        return [f"node {n['name']} ({n['address']}) is {n['state']}"
                for n in self.nodes() if n["state"] != "ready"]


def _healthy(url: str) -> bool:
    return probe.answers_ok(f"{url}/health", timeout=2)


def _has_image(node: str, tag: str) -> bool:
    return subprocess.run(["docker", "--host", node, "image", "inspect", tag],
                          capture_output=True, timeout=30, check=False).returncode == 0


def _copy_image(source: str, node: str, tag: str) -> None:
    """`docker save` on the manager piped into `docker load` on the node."""
    save = subprocess.Popen(["docker", "--host", source, "save", tag], stdout=subprocess.PIPE)
    load = subprocess.run(["docker", "--host", node, "load", "--quiet"], stdin=save.stdout,
                          capture_output=True, text=True, timeout=900, check=False)
    if save.stdout is not None:
        save.stdout.close()
    save.wait(timeout=60)
    if load.returncode != 0 or save.returncode != 0:
        raise OpsError(f"could not load {tag} on {node}: {load.stderr.strip()[-300:]}")
