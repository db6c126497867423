"""What actually serves users, found from the traffic switch's routes (not from the ledger's
roles, which an interrupted operation may leave behind), and everything wrong with it: the
switch not running or not answering, a route to nowhere, a dead or unready process."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from jobnaut.ops import checks, concurrently, probe
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import driver_for, traffic
from jobnaut.ops.environment import SERVICES, Home
from jobnaut.ops.ledger import ProcessRecord

PROBE_TIMEOUT = 3.0


@dataclass
class ServiceState:
    service: str
    public_port: int
    route: str | None
    process: ProcessRecord | None  # the process the route leads to
    alive: bool = False
    healthy: bool = False
    detail: str = ""
    public_answers: bool = False
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        p = self.process
        return {"release": f"v{p.release_id}" if p else None, "pid": p.pid if p else None,
                "port": p.port if p else None, "role": p.role if p else "stopped",
                "log": p.log if p else None, "alive": self.alive, "healthy": self.healthy,
                "detail": self.detail, "public_port": self.public_port, "route": self.route,
                "public_answers": self.public_answers, "problem": self.problem}


@dataclass
class SwitchState:
    pid: int | None
    running: bool
    answering: bool
    routes: dict[str, str | None]
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "running": self.running, "answering": self.answering,
                "routes": self.routes, "problem": self.problem}


@dataclass
class ServingReport:
    switch: SwitchState
    services: dict[str, ServiceState]
    standby: list[ProcessRecord] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = [self.switch.problem] + [s.problem for s in self.services.values()]
        return [p for p in found if p]


def inspect(env: Env, gone: list[ProcessRecord] | None = None) -> ServingReport:
    """The switch and, per service, the process its route leads to. `gone`: processes just
    found dead (named in the problem when a route still leads to one)."""
    switch = _switch(env)
    running = env.ledger.running_processes()
    by_port = {p.port: p for p in running}
    # Each service's probes (its process, then the public port) wait on HTTP: side by side.
    services = dict(zip(SERVICES, concurrently.each(
        lambda service: _service(env, service, switch, by_port, gone or []), SERVICES),
        strict=True))
    serving_ids = {s.process.id for s in services.values() if s.process}
    standby = [p for p in running if p.id not in serving_ids]
    report = ServingReport(switch, services, standby)
    if env.ledger.active_release() is None and not running:
        # Nothing was ever deployed (or all was taken down before the first release): no
        # process is expected, so none is missing.
        for state in services.values():
            state.problem = None
        report.switch.problem = None
    return report


def _switch(env: Env) -> SwitchState:
    identity = traffic.switch_identity(env.home)
    running = traffic.switch_running(env.home)
    routes: dict[str, str | None] = traffic.routes(env.home) if running else \
        dict.fromkeys(SERVICES)
    answering = running and traffic.switch_answers(env.home)
    cfg = env.home.config
    ports = f"{cfg.backend_port} and {cfg.frontend_port}"
    problem = None
    if not running:
        problem = (f"the traffic switch is not running: public ports {ports} answer nothing "
                   "(`jobnaut up` starts it again)")
    elif not answering:
        problem = (f"the traffic switch (pid {identity[0] if identity else '?'}) does not "
                   f"answer on its admin socket: traffic cannot be switched")
    return SwitchState(identity[0] if identity and running else None, running, answering,
                       routes, problem)


def _service(env: Env, service: str, switch: SwitchState, by_port: dict[int, ProcessRecord],
             gone: list[ProcessRecord]) -> ServiceState:
    public_port = env.home.config.public_port(service)
    route = switch.routes.get(service)
    port = port_of(route)
    state = ServiceState(service, public_port, route, by_port.get(port) if port else None)
    if state.process is not None:
        state.alive = driver_for(env.home).alive(state.process)
        state.healthy, state.detail = _ready(env.home, state.process) if state.alive else \
            (False, "process is dead")
    if switch.running:
        state.public_answers = _answers(env.home, f"{env.home.config.public_url(service)}/health")
    state.problem = _problem(state, switch, port, gone)
    return state


def _problem(state: ServiceState, switch: SwitchState, port: int | None,
             gone: list[ProcessRecord]) -> str | None:
    name, public = state.service, state.public_port
    if not (switch.running and switch.answering):
        return None  # the switch's own problem says it: its routes cannot even be read
    if state.route is None:
        return f"{name}: the traffic switch sends it nowhere: public port {public} answers 503"
    p = state.process
    if p is None:
        dead = next((g for g in gone if g.port == port), None)
        who = f"its live process (v{dead.release_id}, pid {dead.pid}) died" if dead else \
            "no process of any release runs there (it died or was stopped)"
        return (f"{name}: routed to port {port}, but {who}: public port {public} fails; "
                "`jobnaut up` starts it again")
    if not state.alive:
        return (f"{name}: its live process (v{p.release_id}, pid {p.pid}) is dead: public "
                f"port {public} fails; `jobnaut up` starts it again")
    if not state.healthy:
        return f"{name}: v{p.release_id} (pid {p.pid}) is not ready: {state.detail}"
    if not state.public_answers:
        return f"{name}: public port {public} does not answer through the traffic switch"
    return None


def port_of(route: str | None) -> int | None:
    """The port a route sends users to; split between releases (a canary), the port most
    of them go to."""
    if not route:
        return None
    if route.startswith("weighted:"):
        weights = dict(part.split("=") for part in route.removeprefix("weighted:").split(","))
        return int(max(weights, key=lambda port: int(weights[port])))
    with contextlib.suppress(ValueError):
        return urlsplit(route).port
    return None


def _ready(home: Home, process: ProcessRecord) -> tuple[bool, str]:
    problem = checks.not_ready(driver_for(home).address(process), PROBE_TIMEOUT)
    return (problem is None, problem or "ready")


def _answers(home: Home, url: str) -> bool:
    if url.startswith("http://"):
        answer = probe.get(url, PROBE_TIMEOUT)
        return answer is not None and answer.status < 500
    import httpx

    try:
        with checks.http_client(home, PROBE_TIMEOUT) as http:
            return http.get(url).status_code < 500
    except httpx.TransportError:
        return False


def as_checks(report: ServingReport) -> list[checks.CheckOutcome]:
    """The report as checks, for `jobnaut health`: the switch, then each live process."""
    switch = report.switch
    outcomes = [checks.CheckOutcome(
        "traffic switch", switch.problem is None,
        switch.problem or f"running (pid {switch.pid}), answering", 0.0)]
    for state in report.services.values():
        p = state.process
        ok_detail = f"v{p.release_id} pid {p.pid} port {p.port} ready" if p else "not running"
        outcomes.append(checks.CheckOutcome(f"live process: {state.service}",
                                            state.problem is None and switch.running,
                                            state.problem or ok_detail, 0.0))
    return outcomes
