"""The Caddy configuration of one environment's traffic switch, as a pure function.

Nothing here starts a process or touches a file: `build_config(settings)` returns the JSON
document that `caddy run --config` and the admin API's /load take, so that every part of
the switch can be read and tested as data.

Why the switch looks like this (measured on Caddy 2.11.7):
- Every admin config change reloads the server, and a reload drops requests under load.
  So a route change is never a reload: each upstream dial is read per request from a
  file (`{file.PATH}`) that the switch replaces by an atomic rename.
- Maintenance is a flag file matched per request (the `file` matcher), for the same reason,
  and because the retry window of the proxy would otherwise hold every answer back.
- A split between two releases (canary, ADR 0013) is files too: a flag, each side's dial and
  release name, and the canary's share as a threshold that a random per-request UUID is
  compared with. A client's cookie names its release, so it stays there at every step.
- The retry window (`try_duration`) hides a backend that is restarting or being replaced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobnaut.ops.errors import OpsError

MIB = 1024 * 1024
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
UNIX_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with its terminating NUL
ACCESS_LOGGER = "jobnaut_access"
PAGE_NAMES = ("maintenance", "outage", "status")
STATUS_FEEDS = {"status.json": "application/json", "status.atom": "application/atom+xml"}
MESSAGES = {
    "maintenance": "JobNaut is down for maintenance for a few minutes; try again shortly",
    "outage": "JobNaut is not answering right now; we are on it, try again shortly",
}
JSON_PATHS = ["/api", "/api/*"]
UUID_PREFIX_SPACE = 16 ** 4  # a split's threshold compares the first four hex digits


def split_cookie(service: str) -> str:
    """The cookie that keeps a client on the release a split sent it to. One name for
    every service: a browser sends a host's cookies to each of its ports, so the page and
    the API calls of one user reach the same release (both splits name the same two)."""
    return "jobnaut_release"


@dataclass(frozen=True)
class TlsSettings:
    """HTTPS on every public port: a domain (automatic certificates) or certificate files.

    `redirect_ports` maps a service to a plain-HTTP port whose requests are redirected to
    that service's HTTPS port."""

    domain: str | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    redirect_ports: Mapping[str, int] = field(default_factory=dict)
    hsts_max_age: int = 31_536_000


@dataclass(frozen=True)
class Timeouts:
    """Seconds. `upstream_retry` is how long a request waits for a live upstream (a
    restarting or replaced release) before the outage answer."""

    read_header: float = 10
    read_body: float = 30
    write: float = 120
    idle: float = 120
    dial: float = 2
    upstream_retry: float = 5
    retry_interval: float = 0.05
    shutdown_grace: float = 10


@dataclass(frozen=True)
class SwitchSettings:
    run_dir: Path
    log_dir: Path
    ports: Mapping[str, int]
    tls: TlsSettings | None = None
    max_body_bytes: int = 10 * MIB
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry_after: int = 30
    status_service: str = "frontend"
    listen_host: str | None = None  # default: loopback for HTTP, every interface with TLS
    # Upstreams per service, each read from its own dial file: one (a process, a container)
    # or a release's tasks on several nodes (swarm), where a dead one is passed over.
    upstream_slots: int = 1

    @property
    def host(self) -> str:
        if self.listen_host is not None:
            return self.listen_host
        return "127.0.0.1" if self.tls is None else "0.0.0.0"


@dataclass(frozen=True)
class Layout:
    """Where the switch keeps its state. Every path the config reads is here."""

    run_dir: Path
    log_dir: Path

    @property
    def admin_socket(self) -> Path:
        return self.run_dir / "caddy-admin.sock"

    @property
    def config_file(self) -> Path:
        return self.run_dir / "caddy.json"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "caddy.pid"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "caddy-data"

    @property
    def pages_dir(self) -> Path:
        return self.run_dir / "pages"

    def page(self, name: str) -> Path:
        return self.pages_dir / f"{name}.html"

    def dial_file(self, service: str, slot: int = 1) -> Path:
        return self.run_dir / (f"upstream-{service}" + (f".{slot}" if slot > 1 else ""))

    def release_file(self, service: str) -> Path:
        return self.run_dir / f"release-{service}"

    def maintenance_flag(self, service: str) -> Path:
        return self.run_dir / f"maintenance-{service}"

    def weights_file(self, service: str) -> Path:
        """The split as the control plane set it (weights, release names): read back by
        `routes()`; Caddy reads the split_file()s."""
        return self.run_dir / f"weights-{service}.json"

    def split_flag(self, service: str) -> Path:
        return self.run_dir / f"split-{service}"

    def split_file(self, service: str, part: str) -> Path:
        """One part of a split, read per request: `base-dial`, `base-release`,
        `canary-dial`, `canary-release`, `threshold`."""
        return self.run_dir / f"split-{service}.{part}"

    @property
    def access_log(self) -> Path:
        return self.log_dir / "access.log"

    @property
    def server_log(self) -> Path:
        return self.log_dir / "caddy.log"


def validate(settings: SwitchSettings) -> None:
    """Bad settings are refused before anything starts, with what to change."""
    if not settings.ports:
        raise OpsError("the traffic switch needs at least one public port", exit_code=2)
    for service, port in settings.ports.items():
        if not SERVICE_NAME.match(service):
            raise OpsError(f"bad service name {service!r}",
                           hint="use lower-case letters, digits, '-' or '_'", exit_code=2)
        _check_port(port, f"public port of {service}")
    tls = settings.tls
    redirects = dict(tls.redirect_ports) if tls else {}
    for service, port in redirects.items():
        if service not in settings.ports:
            raise OpsError(f"HTTP redirect for unknown service {service!r}", exit_code=2)
        _check_port(port, f"HTTP redirect port of {service}")
    all_ports = [*settings.ports.values(), *redirects.values()]
    if len(set(all_ports)) != len(all_ports):
        raise OpsError(f"public ports must differ: {sorted(all_ports)}", exit_code=2)
    if tls is not None:
        _check_tls(tls)
    if settings.max_body_bytes <= 0:
        raise OpsError("the request body limit must be positive", exit_code=2)
    socket = str(Layout(settings.run_dir, settings.log_dir).admin_socket)
    if len(socket.encode()) > UNIX_SOCKET_PATH_MAX:
        raise OpsError(f"the admin socket path is too long for a Unix socket: {socket}",
                       hint="use a shorter run directory", exit_code=2)


def _check_port(port: int, what: str) -> None:
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise OpsError(f"bad {what}: {port!r}", hint="a port is 1-65535", exit_code=2)


def _check_tls(tls: TlsSettings) -> None:
    has_files = tls.cert_file is not None or tls.key_file is not None
    if (tls.domain is None) == (not has_files):
        raise OpsError("TLS needs either a domain or a certificate and key file, not both",
                       exit_code=2)
    if has_files and (tls.cert_file is None or tls.key_file is None):
        raise OpsError("TLS needs both a certificate file and a key file", exit_code=2)
    for path in (tls.cert_file, tls.key_file):
        if path is not None and not Path(path).is_file():
            raise OpsError(f"TLS file not found: {path}", exit_code=2)


def check_weights(service: str, weights: Mapping[int, int]) -> None:
    if len(weights) != 2:
        raise OpsError(f"a split of {service} is between two upstreams (the release serving "
                       f"and the canary), not {len(weights)}",
                       hint="use route() for a single one", exit_code=2)
    for port, weight in weights.items():
        _check_port(port, f"upstream port of {service}")
        if not isinstance(weight, int) or weight < 0:
            raise OpsError(f"bad weight for port {port}: {weight!r}",
                           hint="weights are whole numbers >= 0", exit_code=2)
    if sum(weights.values()) == 0:
        raise OpsError(f"weights for {service} are all zero", exit_code=2)


# --- the document ----------------------------------------------------------------------

def build_config(settings: SwitchSettings) -> dict[str, Any]:
    """The whole Caddy JSON config. Nothing in it changes when traffic moves: routes,
    maintenance and splits are files that each request reads."""
    validate(settings)
    layout = Layout(settings.run_dir, settings.log_dir)
    servers: dict[str, Any] = {}
    for service, port in settings.ports.items():
        servers[service] = _service_server(settings, layout, service, port)
    if settings.tls is not None:
        for service, port in settings.tls.redirect_ports.items():
            servers[f"{service}-redirect"] = _redirect_server(settings.host, port,
                                                              settings.ports[service])
    config: dict[str, Any] = {
        "admin": {"listen": f"unix/{layout.admin_socket}|0600", "config": {"persist": False}},
        "storage": {"module": "file_system", "root": str(layout.data_dir)},
        "logging": _logging(layout),
        "apps": {"http": {"servers": servers,
                          "grace_period": _duration(settings.timeouts.shutdown_grace)}},
    }
    if settings.tls is not None:
        config["apps"]["tls"] = _tls_app(settings.tls)
    return config


def share_threshold(share: float) -> str:
    """The canary's share of new sessions as the hex string that a random UUID sorts below
    with that probability (precision 1/65,536): "0ccd" for 5 %, "g" (above every hex
    digit) for all, "0" (below every UUID) for none."""
    slots = round(max(0.0, min(1.0, share)) * UUID_PREFIX_SPACE)
    if slots >= UUID_PREFIX_SPACE:
        return "g"
    return f"{slots:04x}" if slots else "0"


def _service_server(settings: SwitchSettings, layout: Layout, service: str,
                    port: int) -> dict[str, Any]:
    t = settings.timeouts
    routes = [_request_limit(settings.max_body_bytes), *_attribution(layout, service)]
    if settings.tls is not None:
        routes.append(_hsts(settings.tls.hsts_max_age))
    if service == settings.status_service:
        routes.append(_status_page(layout))
    routes.append({
        "match": [_flag(layout, layout.maintenance_flag(service))],
        "handle": [_unavailable(layout, "maintenance", settings.retry_after)],
        "terminal": True,
    })
    routes.append(_split(layout, service, t))
    routes.append({"handle": [_reverse_proxy(layout, service, t, settings.upstream_slots)]})
    server: dict[str, Any] = {
        "listen": [f"{settings.host}:{port}"],
        "routes": routes,
        "errors": {"routes": [_outage(layout, settings.retry_after)]},
        "logs": {"default_logger_name": ACCESS_LOGGER},
        "read_header_timeout": _duration(t.read_header),
        "read_timeout": _duration(t.read_body),
        "write_timeout": _duration(t.write),
        "idle_timeout": _duration(t.idle),
    }
    if settings.tls is None:
        server["automatic_https"] = {"disable": True}
    else:
        server["automatic_https"] = {"disable_redirects": True}
        server["tls_connection_policies"] = [_tls_policy(settings.tls)]
    return server


def _flag(layout: Layout, path: Path) -> dict[str, Any]:
    """Matches while the flag file exists (checked per request)."""
    return {"file": {"root": str(layout.run_dir), "try_files": [f"/{path.name}"]}}


def _request_limit(max_bytes: int) -> dict[str, Any]:
    return {"handle": [{"handler": "request_body", "max_size": max_bytes}]}


def _attribution(layout: Layout, service: str) -> list[dict[str, Any]]:
    """Fields added to each access-log line once the response is known: which service,
    which upstream answered (exact, per request) and the release it was sent to."""
    fields = {
        "service": service,
        "upstream": "{http.reverse_proxy.upstream.hostport}",
        "release": "{http.vars.jobnaut_release}",
    }
    # The release file is read as the request arrives, with the dial file, not when the
    # response is logged: a slow request still names the release that it was sent to.
    # A split sets the variable again to the side it chose.
    release_now = {"handler": "vars",
                   "jobnaut_release": "{file." + str(layout.release_file(service)) + "}"}
    return [{"handle": [release_now]},
            *({"handle": [{"handler": "log_append", "key": key, "value": value}]}
              for key, value in fields.items())]


def _split(layout: Layout, service: str, t: Timeouts) -> dict[str, Any]:
    """While the split flag exists: a client whose cookie names one of the two releases
    goes to it; any other client is a new session, sent to the canary when its request's
    random UUID sorts below the threshold, else to the base release. The answer sets the
    cookie to the release chosen, and the access log names it."""
    def read(part: str) -> str:
        return "{file." + str(layout.split_file(service, part)) + "}"

    def side(name: str) -> dict[str, Any]:
        return {"handler": "vars", "jobnaut_release": read(f"{name}-release"),
                "jobnaut_dial": read(f"{name}-dial")}

    cookie = f"{{http.request.cookie.{split_cookie(service)}}}"
    new_session = "{http.request.uuid} < {http.vars.jobnaut_threshold}"
    proxy = _reverse_proxy(layout, service, t, dials=["{http.vars.jobnaut_dial}"])
    return {"match": [_flag(layout, layout.split_flag(service))], "handle": [{
        "handler": "subroute", "routes": [
            {"handle": [side("base"), {"handler": "vars",
                                       "jobnaut_threshold": read("threshold"),
                                       "jobnaut_base": read("base-release"),
                                       "jobnaut_canary": read("canary-release")}]},
            {"match": [{"expression": new_session}], "handle": [side("canary")]},
            {"match": [{"expression": f"{cookie} == {{http.vars.jobnaut_base}}"}],
             "handle": [side("base")]},
            {"match": [{"expression": f"{cookie} == {{http.vars.jobnaut_canary}}"}],
             "handle": [side("canary")]},
            {"handle": [{"handler": "headers", "response": {"add": {"Set-Cookie": [
                f"{split_cookie(service)}={{http.vars.jobnaut_release}}; Path=/; HttpOnly; "
                "SameSite=Lax"]}}}, proxy]},
        ]}], "terminal": True}


def _hsts(max_age: int) -> dict[str, Any]:
    return {"handle": [{"handler": "headers", "response": {
        "set": {"Strict-Transport-Security": [f"max-age={max_age}; includeSubDomains"]}}}]}


def _status_page(layout: Layout) -> dict[str, Any]:
    """/status (HTML), /status.json and /status.atom are files in the run directory: they
    answer with every upstream down."""
    no_store = {"handler": "headers", "response": {"set": {"Cache-Control": ["no-store"]}}}
    feeds = [{
        "match": [{"path": [f"/{name}"]}],
        "handle": [{"handler": "headers", "response": {"set": {
            "Cache-Control": ["no-store"], "Content-Type": [f"{media}; charset=utf-8"]}}},
            {"handler": "file_server", "root": str(layout.pages_dir)}],
        "terminal": True,
    } for name, media in STATUS_FEEDS.items()]
    return {"handle": [{"handler": "subroute", "routes": [
        {"match": [{"path": ["/status", "/status/"]}],
         "handle": [{"handler": "rewrite", "uri": "/status.html"}, no_store,
                    {"handler": "file_server", "root": str(layout.pages_dir)}],
         "terminal": True},
        *feeds,
    ]}], "match": [{"path": ["/status", "/status/", *(f"/{n}" for n in STATUS_FEEDS)]}],
        "terminal": True}


def _unavailable(layout: Layout, page: str, retry_after: int) -> dict[str, Any]:
    """503: JSON with Retry-After for API clients, the HTML page for browsers."""
    wants_json: list[dict[str, Any]] = [
        {"header_regexp": {"Accept": {"pattern": "application/(.+\\+)?json"}}},
        {"path": JSON_PATHS},
    ]
    headers = {"Retry-After": [str(retry_after)], "Cache-Control": ["no-store"]}
    # The API's own error shape, which the web app reads ("maintenance" or "outage").
    body = json.dumps({"error": {"code": page, "message": MESSAGES[page]},
                       "retry_after": retry_after})
    return {"handler": "subroute", "routes": [
        {"match": wants_json, "handle": [{
            "handler": "static_response", "status_code": 503,
            "headers": {**headers, "Content-Type": ["application/json"]}, "body": body,
        }], "terminal": True},
        {"handle": [
            {"handler": "headers", "response": {"set": headers}},
            # file_server answers only GET and HEAD: a form posted during maintenance
            # gets the page too, not a 405
            {"handler": "rewrite", "method": "GET", "uri": f"/{layout.page(page).name}"},
            {"handler": "file_server", "root": str(layout.pages_dir), "status_code": 503},
        ]},
    ]}


def _outage(layout: Layout, retry_after: int) -> dict[str, Any]:
    """No upstream answered within the retry window (or none is routed)."""
    return {
        "match": [{"expression": "{http.error.status_code} >= 502"}],
        "handle": [_unavailable(layout, "outage", retry_after)],
    }


def _reverse_proxy(layout: Layout, service: str, t: Timeouts, slots: int = 1,
                   dials: list[str] | None = None) -> dict[str, Any]:
    """To the service's dial files (one per upstream slot), or to `dials`."""
    retries = {"try_duration": _duration(t.upstream_retry),
               "try_interval": _duration(t.retry_interval)}
    dials = dials or ["{file." + str(layout.dial_file(service, slot)) + "}"
                      for slot in range(1, slots + 1)]
    handler: dict[str, Any] = {
        "handler": "reverse_proxy",
        "transport": {"protocol": "http", "dial_timeout": _duration(t.dial)},
        "upstreams": [{"dial": dial} for dial in dials],
        "load_balancing": retries,
    }
    if len(dials) > 1:
        # A task on a lost node fails its dial once; it is then passed over for a while
        # and the request tried on another task (within the retry window).
        handler["load_balancing"] = {**retries, "selection_policy": {"policy": "round_robin"}}
        handler["health_checks"] = {"passive": {"fail_duration": "5s", "max_fails": 1}}
    return handler


def _redirect_server(host: str, http_port: int, https_port: int) -> dict[str, Any]:
    location = f"https://{{http.request.host}}:{https_port}{{http.request.uri}}"
    return {
        "listen": [f"{host}:{http_port}"],
        "routes": [{"handle": [{"handler": "static_response", "status_code": 308,
                                "headers": {"Location": [location]}}]}],
        "automatic_https": {"disable": True},
    }


def _tls_app(tls: TlsSettings) -> dict[str, Any]:
    if tls.domain is not None:
        return {"certificates": {"automate": [tls.domain]}}
    return {"certificates": {"load_files": [
        {"certificate": str(tls.cert_file), "key": str(tls.key_file), "tags": ["jobnaut"]}]}}


def _tls_policy(tls: TlsSettings) -> dict[str, Any]:
    if tls.domain is not None:
        return {"default_sni": tls.domain}
    return {"certificate_selection": {"any_tag": ["jobnaut"]}}


def _logging(layout: Layout) -> dict[str, Any]:
    def writer(path: Path) -> dict[str, Any]:
        return {"output": "file", "filename": str(path), "roll_size_mb": 100, "roll_keep": 5}

    access = f"http.log.access.{ACCESS_LOGGER}"
    return {"logs": {
        "default": {"writer": writer(layout.server_log), "encoder": {"format": "json"},
                    "exclude": [access]},
        ACCESS_LOGGER: {"writer": writer(layout.access_log), "encoder": {"format": "json"},
                        "include": [access]},
    }}


def _duration(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"
