"""Creating an environment, bringing it up and down, and reporting its state."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from jobnaut.config import redact
from jobnaut.ops import build, checks, concurrently, leftovers, lock, serving
from jobnaut.ops.actions import release_env, switching
from jobnaut.ops.actions import rolled_back_warm as rolled_back
from jobnaut.ops.canary import state as canary
from jobnaut.ops.comms import hooks, incidents, notify, sender, statuspage
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import KINDS, driver_for, traffic
from jobnaut.ops.drivers.process import free_port
from jobnaut.ops.environment import CONFIG_NAME, CONFIG_TEMPLATE, DEFAULT_BASE_IMAGE, SERVICES
from jobnaut.ops.errors import OpsError
from jobnaut.ops.guard import process as guard
from jobnaut.ops.ledger import Ledger, ProcessRecord
from jobnaut.ops.operation import interrupted_operation
from jobnaut.ops.secrets import SnapshotCipher, create_key

REPO_ROOT = Path(__file__).resolve().parents[4]


def init(root: Path, *, source: Path | None = None, database_url: str | None = None,
         backend_port: int = 8000, frontend_port: int = 8080,
         name: str = "local", environment: str = "development", guard: bool = True,
         driver: str = "process", base_image: str | None = None,
         database_service: bool = False, db_image: str | None = None,
         swarm: SwarmInit | None = None) -> Env:
    if (root / CONFIG_NAME).exists():
        raise OpsError(f"{root} already holds an environment", hint="use it, or pick --home")
    if driver not in KINDS:
        raise OpsError(f"unknown driver {driver!r}", hint=f"one of: {', '.join(KINDS)}",
                       exit_code=2)
    if database_service and (driver != "compose" or database_url):
        raise OpsError("--database-service needs --driver compose and no --database-url",
                       hint="the db service's URL is made here (its password generated)",
                       exit_code=2)
    if (driver == "swarm") != (swarm is not None and bool(swarm.manager)):
        raise OpsError("--driver swarm and --manager go together",
                       hint="--manager unix:///…/docker.sock or tcp://HOST:2376", exit_code=2)
    source = (source or REPO_ROOT).resolve()
    db_port = free_port()
    build.resolve_ref(source, "HEAD")  # fail early when the source is not a git repository
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    (root / "data").mkdir(exist_ok=True)
    (root / CONFIG_NAME).write_text(CONFIG_TEMPLATE.format(
        name=name, source=source, backend_port=backend_port, frontend_port=frontend_port,
        guard="true" if guard else "false", driver=driver,
        driver_lines=_driver_lines(base_image, db_port if database_service else None, db_image)
        + (swarm.lines() if swarm else ""),
    ))
    create_key(root / "secret.key")
    ledger = Ledger(root / "ledger.db")
    os.chmod(root / "ledger.db", 0o600)
    if database_service:  # PostgreSQL in a db container that JobNaut manages (ADR 0008)
        database_url = (f"postgresql://jobnaut:{secrets.token_urlsafe(24)}@127.0.0.1:"
                        f"{db_port}/jobnaut")
    initial = {
        "DATABASE_URL": database_url or f"sqlite:///{root / 'data' / 'jobnaut.db'}",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "JOBNAUT_ENV": environment,
        # Services on other nodes reach the API through the switch at the edge's address.
        "API_BASE_URL": f"http://{swarm.edge if swarm and swarm.edge else '127.0.0.1'}:"
                        f"{backend_port}",
    }
    config_id = ledger.add_config(SnapshotCipher(root / "secret.key").seal(initial))
    ledger.set_state("initial_config", str(config_id))
    ledger.event(f"environment {name} created at {root} (source {source})")
    return Env.open(root)


@dataclass(frozen=True)
class SwarmInit:
    """`init --driver swarm`: the manager's engine, the nodes' engines, the edge address."""

    manager: str
    nodes: tuple[str, ...] = ()
    edge: str | None = None

    def lines(self) -> str:
        lines = [f"manager = {json.dumps(self.manager)}",
                 f"nodes = {json.dumps(list(self.nodes or (self.manager,)))}"]
        if self.edge:
            lines.append(f"edge = {json.dumps(self.edge)}")
        return "\n".join(lines) + "\n"


def _driver_lines(base_image: str | None, db_port: int | None, db_image: str | None) -> str:
    lines = [f"base_image = {json.dumps(base_image)}" if base_image else
             f"# base_image = \"{DEFAULT_BASE_IMAGE}\"  # compose: what release images build on"]
    if db_port is not None:
        lines += ['database = "service"  # PostgreSQL in a db container, data on a volume',
                  f"db_port = {db_port}"]
        if db_image:
            lines.append(f"db_image = {json.dumps(db_image)}")
    return "\n".join(lines) + "\n"


@lock.locked_action("up")
def up(env: Env) -> str:
    """Start the active release's services; deploys the source's HEAD on a new home."""
    active = env.ledger.active_release()
    if active is None:
        return "no release yet"
    reconcile(env)  # after a reboot the ledger still lists processes that are gone
    switching.retire_expired(env)  # a rolled-back release kept warm past its time
    runs = driver_for(env.home)
    database = runs.ensure_database(env.home, env.release_config(active)["DATABASE_URL"])
    traffic.ensure_switch(env.home)
    hooks.safely(env, "publish the status page", lambda: statuspage.publish(env))
    started = []
    for service in SERVICES:
        live = [p for p in switching.live_processes(env, service) if runs.alive(p)]
        if live:
            traffic.route(env.home, service, live[0].port, f"v{live[0].release_id}")
            continue
        # A service rolled back on its own keeps its release across down and up.
        serving_id = env.ledger.serving_release_id(service)
        release = env.ledger.release(serving_id) if serving_id else active
        release_env.ensure_built(env, release)
        proc = runs.start_service(env.home, env.ledger, release=release, service=service,
                                  env=release_env.service_env(env, release, service),
                                  role="live")
        proc = runs.wait_healthy(proc, env.home.config.start_timeout)
        problem = checks.not_ready(runs.address(proc), env.home.config.check_timeout)
        if problem:  # rule 7: nothing takes traffic before it is checked
            driver_for(env.home).stop_process(env.ledger, proc, 0)
            raise OpsError(f"{service} of {release.name} is not ready: {problem}",
                           hint="`jobnaut logs " + service + "`; `jobnaut rollback code` "
                                "to the previous release")
        traffic.route(env.home, service, proc.port, release.name)
        started.append(service)
    # The guard, beside the switch (ADR 0006); a guard that died is started again here.
    guard_note = guard.ensure(env.home)
    env.ledger.event(f"up: {active.name} serving" + (f" (started {', '.join(started)})"
                                                      if started else "")
                     + (f"; {database}" if database else "")
                     + (f"; {guard_note}" if guard_note else ""))
    return f"{active.name} serving"


@lock.locked_action("down")
def down(env: Env) -> str:
    stopped = 0
    guard.stop(env.home)  # first: it would restart the processes stopped below
    for service in SERVICES:
        if traffic.switch_running(env.home):
            traffic.route(env.home, service, None)
    for p in env.ledger.running_processes():
        driver_for(env.home).stop_process(env.ledger, p, env.home.config.drain_timeout)
        stopped += 1
    traffic.stop_switch(env.home)
    if driver_for(env.home).stop_database(env.home):  # its data stays on its volume
        env.ledger.event("down: stopped the db service")
    sender.stop_sender(env)  # its unsent notices stay in the outbox for the next one
    env.ledger.event(f"down: stopped {stopped} processes and the traffic switch")
    return f"stopped {stopped} processes"


def reconcile(env: Env) -> list[ProcessRecord]:
    """Forget processes that died (crash, reboot) so that the ledger tells the truth;
    returns them."""
    gone = []
    runs = driver_for(env.home)
    for p in env.ledger.running_processes():
        if not runs.alive(p):
            runs.stop_process(env.ledger, p, 0)  # a dead container is removed too
            env.ledger.event(f"{p.service} of v{p.release_id} (pid {p.pid}) is gone",
                             level="warning")
            gone.append(p)
    return gone


def status(env: Env) -> dict[str, Any]:
    """The environment as it is: what the traffic switch sends each service's traffic to
    (and whether that process lives and is ready), the switch itself, the processes out of
    traffic, the last or interrupted operation — and every problem of the serving side."""
    gone = reconcile(env)
    active = env.ledger.active_release()
    report = serving.inspect(env, gone)
    services: dict[str, Any] = {name: state.as_json()
                                for name, state in report.services.items()}
    ready = concurrently.each(lambda p: _ready(env, p), report.standby)
    services["standby"] = [
        {"service": p.service, "release": f"v{p.release_id}", "pid": p.pid, "port": p.port,
         "role": p.role, "warm_until": p.warm_until, "label": rolled_back.label(p),
         "healthy": healthy, "log": p.log}
        for p, healthy in zip(report.standby, ready, strict=True)]
    last = env.ledger.operations(limit=1)
    interrupted = interrupted_operation(env)
    running = lock.holder(env.home.lock_path)
    interrupted_json = None
    if interrupted:
        interrupted_json = _operation_json(env, interrupted)
        interrupted_json["survivors"] = [r.as_json() for r in leftovers.survivors(env)]
    return {
        "environment": env.home.config.name,
        "home": str(env.home.root),
        "active_release": active.name if active else None,
        "active": active.as_json() if active else None,
        "rollback_ready": _readiness(env, active),
        "services": services,
        "traffic_switch": report.switch.as_json(),
        "guard": guard.state(env.home),
        "canary": canary.current(env),
        "problems": (report.problems + _guard_problems(env) + _driver_problems(env)
                     + _overdue_warm(report.standby)),
        "urls": {service: env.home.config.public_url(service) for service in SERVICES},
        "deploy_freeze": env.ledger.get_state("deploy_freeze"),
        "incidents": [{"id": i.id, "kind": i.kind, "state": i.state, "impact": i.impact,
                       "title": i.title, "acknowledged": i.acknowledged_at is not None}
                      for i in incidents.book(env).incidents(open_only=True)],
        "failing_channels": notify.failing_channels(env),
        "running_operation": running,
        "last_operation": _operation_json(env, last[0]) if last else None,
        "interrupted": interrupted_json,
    }


def _guard_problems(env: Env) -> list[str]:
    """An enabled guard that is not running while the switch serves: nothing watches."""
    if (env.home.config.guard.enabled and traffic.switch_running(env.home)
            and not guard.running(env.home)):
        return ["the guard is not running: nothing watches releases or restarts dead "
                "processes; `jobnaut up` starts it again"]
    return []


def _overdue_warm(standby: list[ProcessRecord]) -> list[str]:
    """A rolled-back release still warm after its time: the guard that stops it is not
    doing so (ADR 0018)."""
    return [f"{p.service} of rolled-back v{p.release_id} (pid {p.pid}) is still running "
            f"after its time to stay warm ({p.warm_until}); the guard stops it, or `jobnaut up`"
            for p in rolled_back.expired(standby)]


def _driver_problems(env: Env) -> list[str]:
    """What the driver sees wrong beneath the services (swarm: a lost node, named)."""
    problems = getattr(driver_for(env.home), "problems", None)
    return list(problems()) if problems is not None else []


def _ready(env: Env, process: ProcessRecord) -> bool:
    runs = driver_for(env.home)
    return runs.alive(process) and checks.not_ready(runs.address(process),
                                                    serving.PROBE_TIMEOUT) is None


def _readiness(env: Env, release: Any) -> Any:
    return env.ledger.rollback_verdict(release.id) if release else None


def _operation_json(env: Env, op: Any) -> dict[str, Any]:
    steps = env.ledger.steps(op.id)
    return {"id": op.id, "kind": op.kind, "status": op.status, "args": op.args,
            "error": op.error, "started_at": op.started_at, "finished_at": op.finished_at,
            "steps": [{"name": s["name"], "status": s["status"], "detail": s["detail"]}
                      for s in steps]}


@lock.locked_action("prune builds")
def prune_builds(env: Env) -> list[str]:
    """Keep the builds of the newest keep_releases releases, the active one and the one
    before it; remove the others (a rollback to them rebuilds from the commit)."""
    releases = env.ledger.releases()
    keep = {r.ref for r in releases[-env.home.config.keep_releases:]}
    active = env.ledger.active_release()
    activated = [r for r in releases if r.activated_at]
    for r in ([active] if active else []) + activated[-2:]:
        keep.add(r.ref)
    keep.update(env.ledger.release(p.release_id).ref for p in env.ledger.running_processes())
    removed = []
    runs = driver_for(env.home)
    if env.home.builds.exists():
        for path in env.home.builds.iterdir():
            if path.is_dir() and path.name not in keep:
                runs.discard(env.home, path.name)  # the build, and its image
                removed.append(path.name)
    return removed


def show_config(env: Env, release_name: str | None = None) -> dict[str, str]:
    config_id = (env.find_release(release_name).config_id if release_name
                 else env.current_config_id())
    return {k: redact(k, v) for k, v in sorted(env.config_of(config_id).items())}
