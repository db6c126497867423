"""The process driver: runs each release's services as local processes on private ports,
and the traffic switch (Caddy) in front of them on the public ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from jobnaut.ops import commands, pids
from jobnaut.ops.environment import SERVICES, Home
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import Ledger, ProcessRecord

if TYPE_CHECKING:
    from jobnaut.ops.caddy import CaddySwitch


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_alive(pid: int, start_ticks: int | None = None) -> bool:
    """True if `pid` is a live JobNaut process — the one started at `start_ticks` when that
    is known (a reused pid, of another program or another of ours, is not)."""
    if not pids.exists(pid):
        return False
    if start_ticks is not None and pids.start_ticks(pid) != start_ticks:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":  # a zombie has exited
        return False
    return b"jobnaut" in cmdline


def terminate(pid: int, grace: float, start_ticks: int | None = None) -> None:
    """SIGTERM (uvicorn stops accepting, finishes in-flight requests), then SIGKILL."""
    if not is_alive(pid, start_ticks):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_alive(pid, start_ticks):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def log_path(home: Home, release_id: int, service: str) -> Path:
    return home.logs / f"v{release_id}-{service}.log"


@dataclass(frozen=True)
class _Launch:
    """How a process was started: enough to start it again on another port."""

    home: Home
    ledger: Ledger
    release_id: int
    build_dir: Path
    service: str
    env: Mapping[str, str]
    role: str
    attempt: int


# Launches of processes not yet seen healthy, by ledger process id (see wait_healthy).
_launches: dict[int, _Launch] = {}
PORT_ATTEMPTS = 4
BIND_FAILURES = ("address already in use", "[errno 98]")


def start_service(home: Home, ledger: Ledger, *, release_id: int, build_dir: Path,
                  service: str, env: Mapping[str, str], role: str = "candidate",
                  port: int | None = None) -> ProcessRecord:
    """Start a service on a private port (`port`, else a free one). Another program may
    take the port before the service binds it: `wait_healthy` then starts it again on a
    new port."""
    launch = _Launch(home, ledger, release_id, build_dir, service, env, role, attempt=1)
    return _launch(launch, port or free_port())


def _launch(launch: _Launch, port: int) -> ProcessRecord:
    home, ledger, release_id, service = (launch.home, launch.ledger, launch.release_id,
                                         launch.service)
    build_dir, env, role = launch.build_dir, launch.env, launch.role
    home.logs.mkdir(parents=True, exist_ok=True)
    log = log_path(home, release_id, service)
    with log.open("ab") as out:
        out.write(f"--- v{release_id} {service} starting on port {port}\n".encode())
        proc = subprocess.Popen(
            commands.jobnaut_in(build_dir, "serve", service, "--port", str(port),
                                "--graceful-timeout", str(int(home.config.drain_timeout))),
            env={**_base_env(), **env, "PORT": str(port)},
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=build_dir, start_new_session=True,  # outlives this command
        )
    process_id = ledger.add_process(release_id=release_id, service=service, pid=proc.pid,
                                    port=port, role=role, log=str(log),
                                    start_ticks=pids.start_ticks(proc.pid))
    _launches[process_id] = launch
    return ledger.process(process_id)


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSL_CERT_FILE")
    # A service that dies of a signal (a crash in a C extension) leaves its Python stack
    # in its log instead of nothing.
    return {**{k: os.environ[k] for k in keep if k in os.environ}, "PYTHONFAULTHANDLER": "1"}


def wait_healthy(process: ProcessRecord, timeout: float) -> ProcessRecord:
    """Wait until the process answers /health; returns it — or, when another program took
    its port first, the process started again in its place on a new port."""
    url = f"http://127.0.0.1:{process.port}/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(process.pid)
        if not is_alive(process.pid, process.start_ticks):
            retry = _relaunch_if_port_taken(process)
            if retry is not None:
                return wait_healthy(retry, max(1.0, deadline - time.monotonic()))
            _launches.pop(process.id, None)
            raise OpsError(f"{process.service} of v{process.release_id} exited during start; "
                           f"last log lines: {tail(Path(process.log), 5)}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                _launches.pop(process.id, None)
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise OpsError(f"{process.service} of v{process.release_id} did not answer /health within "
                   f"{timeout:.0f}s")


def _relaunch_if_port_taken(process: ProcessRecord) -> ProcessRecord | None:
    """The process started again on a new port, if it died because its port was taken
    (and attempts remain); None otherwise."""
    launch = _launches.pop(process.id, None)
    if launch is None or launch.attempt >= PORT_ATTEMPTS:
        return None
    if not _bind_failed(Path(process.log), process.port):
        return None
    launch.ledger.process_stopped(process.id)
    launch.ledger.event(f"{process.service} of v{process.release_id}: port {process.port} was "
                        "taken by another program; starting it on another port", level="warning")
    return _launch(replace(launch, attempt=launch.attempt + 1), free_port())


def _bind_failed(log: Path, port: int) -> bool:
    """Whether the last start recorded in `log` (on `port`) failed to bind its port."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return False
    last_start = text.rfind(f"starting on port {port}\n")
    said = text[last_start:].lower() if last_start >= 0 else ""
    return any(failure in said for failure in BIND_FAILURES)


def alive(process: ProcessRecord) -> bool:
    return is_alive(process.pid, process.start_ticks)


def stop_process(ledger: Ledger, process: ProcessRecord, grace: float) -> None:
    terminate(process.pid, grace, process.start_ticks)
    ledger.process_stopped(process.id)


def tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:])


# The traffic switch ------------------------------------------------------------------
# Caddy (ADR 0005): started detached, driven through its admin socket and the dial files.

def traffic_switch(home: Home) -> CaddySwitch:
    from jobnaut.ops.caddy import MIB, CaddySwitch, SwitchSettings, Timeouts, TlsSettings

    cfg = home.config
    production = cfg.switch
    tls = TlsSettings(domain=production.domain, cert_file=production.certificate,
                      key_file=production.key, redirect_ports=production.redirect_http,
                      ) if production.tls else None
    return CaddySwitch(SwitchSettings(
        run_dir=home.run / "switch", log_dir=home.logs,
        ports={"backend": cfg.backend_port, "frontend": cfg.frontend_port}, tls=tls,
        max_body_bytes=production.max_body_mb * MIB,
        timeouts=Timeouts(shutdown_grace=cfg.drain_timeout,
                          upstream_retry=cfg.upstream_retry)))


def switch_identity(home: Home) -> tuple[int, int | None] | None:
    """(pid, start ticks) of the traffic switch as recorded when it started."""
    return traffic_switch(home).identity()


def switch_running(home: Home) -> bool:
    return traffic_switch(home).running()


def switch_answers(home: Home) -> bool:
    """Whether the traffic switch answers on its admin socket."""
    return traffic_switch(home).answers()


def ensure_switch(home: Home) -> None:
    """Start the traffic switch unless it runs, and (re)write the pages it serves when no
    release answers."""
    from jobnaut.ops import pages

    switch = traffic_switch(home)
    if not switch.running():
        cfg = home.config
        for port in (cfg.backend_port, cfg.frontend_port):
            if _port_taken(port):
                raise OpsError(f"port {port} is already in use by another program",
                               hint=f"choose other ports in {home.root / 'jobnaut.toml'} "
                                    "[ports], then run the command again")
        switch.start()
    switch.write_page("maintenance", pages.maintenance_page())
    switch.write_page("outage", pages.outage_page())
    if "JobNaut" not in switch.layout.page("status").read_text():  # keep a written one
        switch.write_page("status", pages.status_page(home.config.name))


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def stop_switch(home: Home) -> None:
    traffic_switch(home).stop()


def route(home: Home, service: str, port: int | None, release: str | None = None) -> None:
    """Send the service's traffic to `port` (None: nothing live, the switch answers 503).
    `release` names it in the switch's access log."""
    traffic_switch(home).route(service, port, release)


def routes(home: Home) -> dict[str, str | None]:
    switch = traffic_switch(home)
    found = switch.routes() if switch.running() else {}
    return {s: _as_url(found.get(s)) for s in SERVICES}


def _as_url(route: str | None) -> str | None:
    """Caddy's `host:port` as the URL the rest of the control plane reads."""
    if route is None or route.startswith("weighted:"):
        return route
    return f"http://{route}"
