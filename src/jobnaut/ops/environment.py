"""An environment's home directory and its ops config file, `jobnaut.toml`."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobnaut.ops.canary.settings import DeploySettings, parse_deploy
from jobnaut.ops.errors import OpsError
from jobnaut.ops.guard.settings import GuardSettings, parse_guard

CONFIG_NAME = "jobnaut.toml"
SERVICES = ("backend", "frontend")


@dataclass(frozen=True)
class Endpoint:
    name: str
    service: str
    path: str
    expect: int = 200


@dataclass(frozen=True)
class SwitchConfig:
    """`[switch]`: the production settings of the traffic switch (Caddy). With neither a
    domain nor certificate files it serves plain HTTP on loopback, as in development."""

    domain: str | None = None  # automatic HTTPS (ACME) for this name
    certificate: Path | None = None  # or the operator's own certificate and key files
    key: Path | None = None
    redirect_http: Mapping[str, int] = field(default_factory=dict)  # service -> HTTP port
    max_body_mb: int = 10

    @property
    def tls(self) -> bool:
        return bool(self.domain or self.certificate or self.key)


DEFAULT_BASE_IMAGE = "python:3.11-slim-bookworm"
DEFAULT_DB_IMAGE = "postgres:15-bookworm"


@dataclass(frozen=True)
class DriverConfig:
    """`[driver]`: how the services of a release run (ADR 0008). `process`: local processes;
    `compose`: one Docker Compose project per release, from an image per commit."""

    kind: str = "process"
    base_image: str = DEFAULT_BASE_IMAGE  # compose: what release images are built on
    docker_host: str | None = None  # compose: the engine (default: DOCKER_HOST, the system's)
    # compose: "external" (DATABASE_URL names a server of its own) or "service" (a `db`
    # container on loopback port db_port, data on a named volume, managed by JobNaut)
    database: str = "external"
    db_image: str = DEFAULT_DB_IMAGE
    db_port: int = 5432
    # swarm (ADR 0012): the manager's engine (`unix://…` or `tcp://…`), every node's engine
    # (release images are loaded on each; no registry), and the edge's address on the
    # cluster network, where the nodes reach the switch (the frontend's way to the API)
    manager: str | None = None
    nodes: tuple[str, ...] = ()
    edge: str | None = None


DRIVER_SETTINGS = ("kind", "base_image", "docker_host", "database", "db_image", "db_port",
                   "manager", "nodes", "edge")


def _refuse_unknown(name: str, section: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(section) - set(known))
    if unknown:
        raise ValueError(f"unknown [{name}] setting {', '.join(unknown)} "
                         f"(known: {', '.join(known)})")


def _driver(section: dict[str, Any]) -> DriverConfig:
    _refuse_unknown("driver", section, DRIVER_SETTINGS)
    kind = str(section.get("kind", "process"))
    if kind not in ("process", "compose", "swarm"):
        raise ValueError(f"[driver] kind = {kind!r}: expected \"process\", \"compose\" or "
                         "\"swarm\"")
    if kind == "swarm" and not section.get("manager"):
        raise ValueError("[driver] kind = \"swarm\" needs manager = \"unix://…\" or \"tcp://…\"")
    database = str(section.get("database", "external"))
    if database not in ("external", "service"):
        raise ValueError(f"[driver] database = {database!r}: expected \"external\" or "
                         "\"service\"")
    if database == "service" and kind != "compose":
        raise ValueError("[driver] database = \"service\" needs kind = \"compose\"")
    return DriverConfig(kind=kind, base_image=str(section.get("base_image") or
                                                  DEFAULT_BASE_IMAGE),
                        docker_host=section.get("docker_host") or None, database=database,
                        db_image=str(section.get("db_image") or DEFAULT_DB_IMAGE),
                        db_port=int(section.get("db_port", 5432)),
                        manager=section.get("manager") or None,
                        nodes=tuple(str(n) for n in section.get("nodes", ())),
                        edge=section.get("edge") or None)


@dataclass(frozen=True)
class OpsConfig:
    name: str
    source: Path
    backend_port: int
    frontend_port: int
    keep_releases: int = 5
    keep_warm: bool = True
    # [rollback] keep_warm_seconds: how long the release a code rollback leaves stays warm,
    # so that going forward again is a switch too (ADR 0018); 0 stops it at once.
    rollback_keep_warm: float = 600.0
    start_timeout: float = 60.0
    drain_timeout: float = 20.0
    check_timeout: float = 10.0
    stability_interval: float = 2.0  # between the emergency procedure's stability rounds
    upstream_retry: float = 5.0  # how long the switch retries a request while no release answers
    endpoints: tuple[Endpoint, ...] = ()
    flows: tuple[str, ...] = ("sign_in", "search", "save_job")
    switch: SwitchConfig = field(default_factory=SwitchConfig)
    guard: GuardSettings = field(default_factory=GuardSettings)  # [guard], ADR 0006
    driver: DriverConfig = field(default_factory=DriverConfig)  # [driver], ADR 0008
    deploy: DeploySettings = field(default_factory=DeploySettings)  # [deploy], ADR 0013

    def public_port(self, service: str) -> int:
        return self.backend_port if service == "backend" else self.frontend_port

    def public_url(self, service: str) -> str:
        """Where the control plane reaches a service through the traffic switch, as users
        do: HTTPS under the configured name when the switch serves TLS."""
        if self.switch.tls:
            return f"https://{self.switch.domain or 'localhost'}:{self.public_port(service)}"
        return f"http://127.0.0.1:{self.public_port(service)}"


@dataclass(frozen=True)
class Home:
    """Where one environment keeps its state. Every path the control plane writes is here."""

    root: Path
    config: OpsConfig = field(compare=False)

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.db"

    @property
    def key_path(self) -> Path:
        return self.root / "secret.key"

    @property
    def builds(self) -> Path:
        return self.root / "builds"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def lock_path(self) -> Path:
        return self.run / "operation.lock"

    def build_dir(self, commit: str) -> Path:
        return self.builds / commit


def resolve_home(option: str | None) -> Path:
    return Path(option or os.environ.get("JOBNAUT_HOME") or ".jobnaut").resolve()


def load_home(root: Path) -> Home:
    path = root / CONFIG_NAME
    if not path.is_file():
        raise OpsError(
            f"no JobNaut environment at {root}",
            hint="run `jobnaut init` (or pass --home / set JOBNAUT_HOME)",
        )
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise OpsError(f"{path} is not valid TOML: {exc}") from None
    return Home(root=root, config=_parse(raw, path))


def _parse(raw: dict[str, Any], path: Path) -> OpsConfig:
    try:
        env, ports = raw["environment"], raw["ports"]
        timeouts, checks = raw.get("timeouts", {}), raw.get("checks", {})
        endpoints = tuple(Endpoint(**e) for e in checks.get("endpoints", []))
        for endpoint in endpoints:
            if endpoint.service not in SERVICES:
                raise ValueError(f"endpoint {endpoint.name!r}: unknown service")
        return OpsConfig(
            name=str(env["name"]),
            source=Path(env["source"]),
            keep_releases=max(2, int(env.get("keep_releases", 5))),
            keep_warm=bool(env.get("keep_warm", True)),
            rollback_keep_warm=_rollback(raw.get("rollback", {})),
            backend_port=int(ports["backend"]),
            frontend_port=int(ports["frontend"]),
            start_timeout=float(timeouts.get("start", 60)),
            drain_timeout=float(timeouts.get("drain", 20)),
            check_timeout=float(timeouts.get("check", 10)),
            stability_interval=max(0.0, float(timeouts.get("stability", 2))),
            upstream_retry=max(0.1, float(timeouts.get("upstream_retry", 5))),
            endpoints=endpoints,
            flows=tuple(checks.get("flows", ("sign_in", "search", "save_job"))),
            switch=_switch(raw.get("switch", {})),
            guard=parse_guard(raw.get("guard", {})),
            driver=_driver(raw.get("driver", {})),
            deploy=parse_deploy(raw.get("deploy", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise OpsError(f"{path}: invalid setting: {exc}") from None


def _rollback(section: dict[str, Any]) -> float:
    _refuse_unknown("rollback", section, ("keep_warm_seconds",))
    seconds = float(section.get("keep_warm_seconds", OpsConfig.rollback_keep_warm))
    if seconds < 0:
        raise ValueError("[rollback] keep_warm_seconds must be 0 (stop at once) or more")
    return seconds


SWITCH_SETTINGS = ("engine", "domain", "certificate", "key", "redirect_http", "max_body_mb")


def _switch(section: dict[str, Any]) -> SwitchConfig:
    _refuse_unknown("switch", section, SWITCH_SETTINGS)
    # Caddy is the only traffic switch (ADR 0005). A home written when the built-in Python
    # proxy existed may name it: say what to change rather than run something else.
    engine = section.get("engine", "caddy")
    if engine != "caddy":
        raise ValueError(f"[switch] engine = {engine!r} is no longer available: Caddy is the "
                         "traffic switch; set engine = \"caddy\" or remove the line")
    redirect = {str(k): int(v) for k, v in dict(section.get("redirect_http", {})).items()}
    for service in redirect:
        if service not in SERVICES:
            raise ValueError(f"[switch] redirect_http: unknown service {service!r}")

    def path(key: str) -> Path | None:
        return Path(section[key]).expanduser() if section.get(key) else None

    config = SwitchConfig(domain=section.get("domain") or None, certificate=path("certificate"),
                          key=path("key"), redirect_http=redirect,
                          max_body_mb=int(section.get("max_body_mb", 10)))
    if redirect and not config.tls:
        raise ValueError("[switch] redirect_http needs HTTPS: set domain or certificate and key")
    if config.max_body_mb < 1:
        raise ValueError("[switch] max_body_mb must be at least 1")
    return config


CONFIG_TEMPLATE = """\
# JobNaut environment: how the control plane deploys, checks and rolls back this environment.
# Service configuration (DATABASE_URL, ENCRYPTION_KEY, …) is not here: it is part of each
# release, stored encrypted in the ledger. Change it with `jobnaut config set KEY=VALUE`.

[environment]
name = "{name}"
# Git repository that releases are built from (`jobnaut deploy REF` takes a ref of it).
source = "{source}"
# Releases whose built files stay on disk; the active release and the one before it are
# never pruned. Older releases are rebuilt from their commit if you roll back to them.
keep_releases = 5
# Keep the previous release's processes running out of traffic after a switch, so that
# rolling back to it is a traffic switch rather than a cold start.
keep_warm = true

[driver]
# How releases run: "process" (local processes from each release's build) or "compose"
# (an image per commit, each release its own Docker Compose project; ADR 0008).
kind = "{driver}"
{driver_lines}
[ports]
# Public ports: the traffic switch (a reverse proxy run by the control plane) listens here
# and forwards to whichever release is live. Each release's processes get private ports.
backend = {backend_port}
frontend = {frontend_port}
# The traffic switch is Caddy (from the locked dependencies). The control plane drives it
# through a Unix socket readable by this home's owner only (run/switch/caddy-admin.sock):
# there is no admin port.

[switch]
# Production: HTTPS on the public ports (with HSTS), listening on every interface.
# Either a domain, whose certificate Caddy obtains and renews by itself:
# domain = "jobs.example.com"
# or the operator's certificate and key files:
# certificate = "/etc/jobnaut/tls/cert.pem"
# key = "/etc/jobnaut/tls/key.pem"
# Plain-HTTP ports whose requests are redirected (308) to a service's HTTPS port:
# redirect_http = {{ frontend = 80 }}
max_body_mb = 10   # larger request bodies are refused with 413

[guard]
# The guard watches every release after it takes traffic (ADR 0006, docs/operations.md
# "The guard"). It reads the traffic switch's access log and restarts serving processes
# that died. Unknown settings are refused.
enabled = {guard}
bake_seconds = 120         # after every switch, a breach rolls the release back by itself
auto_rollback = "bake"     # "bake": only during the bake window; "always"; "never" (alert only)
window_seconds = 10        # the new release is judged on its last 10 s of traffic
baseline_seconds = 60      # against the previous release's last 60 s before the switch
min_requests = 20          # 5xx: at least this many requests, and a rate above, with
error_rate_floor = 0.02    # confidence (confidence_z = 3.7), the baseline's and this floor
latency_ratio = 2.0        # p95/p99: above 2x the baseline AND 0.25 s slower,
latency_floor = 0.25       # on at least min_latency_requests = 50 requests
restart = true             # restart a serving process that died (with backoff)

[deploy]
# Canary (ADR 0013): send this share of new sessions (in %) to the new release, step by
# step, each judged against the release serving the others as the guard judges a bake;
# a clear regression gives all traffic back. Left out: the switch is all at once.
# canary = [5, 25, 100]
canary_step_seconds = 60       # each step below 100 % lasts this long
canary_max_step_seconds = 180  # or up to this long while too few requests reached it

[rollback]
# The release a code rollback leaves keeps running out of traffic this many seconds, so that
# going forward again (`rollback code --to vN`) is a switch too. It is never a default
# rollback target and never restarted; the guard stops it when the time is up (without a
# running guard it is stopped at once). 0: stop it at once (ADR 0018).
keep_warm_seconds = 600

[timeouts]
start = 60   # seconds a new process has to become healthy
drain = 20   # seconds in-flight requests get before an old process is stopped
check = 10   # seconds any single check may take
stability = 2  # seconds between the emergency procedure's three rounds of checks
upstream_retry = 5  # seconds the switch holds a request while no release answers (a
                    # restart, a kill) before it answers with the outage page

[checks]
# Critical user flows, run against a release before it takes traffic and after every
# rollback, as a dedicated check account: sign_in, search, save_job.
flows = ["sign_in", "search", "save_job"]

# The plan's Appendix C "user-facing API endpoints": each must answer with `expect`.
[[checks.endpoints]]
name = "job search API"
service = "backend"
path = "/api/jobs?q=engineer&per_page=5"
expect = 200

[[checks.endpoints]]
name = "API metadata"
service = "backend"
path = "/api/meta"
expect = 200

[[checks.endpoints]]
name = "home page"
service = "frontend"
path = "/"
expect = 200

[[checks.endpoints]]
name = "search page"
service = "frontend"
path = "/jobs?q=engineer"
expect = 200
"""
