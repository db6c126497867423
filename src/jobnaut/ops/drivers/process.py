"""The process driver: runs each release's services as local processes on private ports,
and the traffic switch (the proxy) in front of them on the public ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from jobnaut.ops import commands, pids, proxy
from jobnaut.ops.environment import SERVICES, Home
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import Ledger, ProcessRecord


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


def start_service(home: Home, ledger: Ledger, *, release_id: int, build_dir: Path,
                  service: str, env: Mapping[str, str], role: str = "candidate") -> ProcessRecord:
    home.logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
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
    return ledger.process(process_id)


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SSL_CERT_FILE")
    return {k: os.environ[k] for k in keep if k in os.environ}


def wait_healthy(process: ProcessRecord, timeout: float) -> None:
    url = f"http://127.0.0.1:{process.port}/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(process.pid)
        if not is_alive(process.pid, process.start_ticks):
            raise OpsError(f"{process.service} of v{process.release_id} exited during start; "
                           f"last log lines: {tail(Path(process.log), 5)}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise OpsError(f"{process.service} of v{process.release_id} did not answer /health within "
                   f"{timeout:.0f}s")


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

def proxy_pid_file(home: Home) -> Path:
    return home.run / "proxy.pid"


def proxy_running(home: Home) -> bool:
    pid_file = proxy_pid_file(home)
    if not pid_file.exists():
        return False
    return is_alive(int(pid_file.read_text().strip() or 0))


def ensure_proxy(home: Home) -> None:
    if proxy_running(home) and proxy.get_routes(home.config.admin_port) is not None:
        return
    cfg = home.config
    home.run.mkdir(parents=True, exist_ok=True)
    home.logs.mkdir(parents=True, exist_ok=True)
    for port in (cfg.backend_port, cfg.frontend_port, cfg.admin_port):
        if _port_taken(port):
            raise OpsError(f"port {port} is already in use by another program",
                           hint=f"choose other ports in {home.root / 'jobnaut.toml'} [ports], "
                                "then run the command again")
    with (home.logs / "proxy.log").open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobnaut", "--home", str(home.root), "proxy"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ},
        )
    proxy_pid_file(home).write_text(str(proc.pid))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proxy.get_routes(cfg.admin_port) is not None:
            return
        if proc.poll() is not None:
            raise OpsError(f"the traffic switch exited: {tail(home.logs / 'proxy.log', 3)}")
        time.sleep(0.05)
    raise OpsError("the traffic switch did not start within 20s")


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def stop_proxy(home: Home) -> None:
    pid_file = proxy_pid_file(home)
    if pid_file.exists():
        terminate(int(pid_file.read_text().strip() or 0), 10)
        pid_file.unlink(missing_ok=True)


def route(home: Home, service: str, port: int | None) -> None:
    """Send the service's traffic to `port` (None: nothing live, the proxy answers 503)."""
    upstream = f"http://127.0.0.1:{port}" if port else None
    result = proxy.set_routes(home.config.admin_port, {service: upstream})
    if result.get(service) != upstream:
        raise OpsError(f"the traffic switch did not take the new route for {service}")


def routes(home: Home) -> dict[str, str | None]:
    current = proxy.get_routes(home.config.admin_port)
    if current is None:
        return {s: None for s in SERVICES}
    return {s: current.get(s) for s in SERVICES}
