"""The process driver: runs each release's services as local processes on private
loopback ports, from the release's build folder."""

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

from jobnaut.ops import build, commands, pids, probe
from jobnaut.ops.environment import Home
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import Ledger, ProcessRecord, Release


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
        if probe.answers_ok(url, timeout=2):
            _launches.pop(process.id, None)
            return process
        time.sleep(0.05)
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


class ProcessDriver:
    """`base.Driver` with local processes: the release runs from its build folder."""

    kind = "process"

    def prepare(self, home: Home, commit: str) -> str:
        build_dir = home.build_dir(commit)
        if build.build(home.config.source, commit, build_dir):
            return f"built {commit[:12]} into {build_dir.name[:12]}"
        return f"files of {commit[:12]} already built"

    def discard(self, home: Home, commit: str) -> None:
        build.remove(home.build_dir(commit))

    def start_service(self, home: Home, ledger: Ledger, *, release: Release, service: str,
                      env: Mapping[str, str], role: str = "candidate") -> ProcessRecord:
        return start_service(home, ledger, release_id=release.id,
                             build_dir=home.build_dir(release.ref), service=service, env=env,
                             role=role)

    def wait_healthy(self, process: ProcessRecord, timeout: float) -> ProcessRecord:
        return wait_healthy(process, timeout)

    def address(self, process: ProcessRecord) -> str:
        return f"http://127.0.0.1:{process.port}"

    def alive(self, process: ProcessRecord) -> bool:
        return alive(process)

    def stop_process(self, ledger: Ledger, process: ProcessRecord, grace: float) -> None:
        stop_process(ledger, process, grace)

    def ensure_database(self, home: Home, database_url: str) -> str | None:
        return None  # processes use an external server or SQLite in the home

    def stop_database(self, home: Home) -> bool:
        return False

    def log_file(self, home: Home, release_id: int, service: str) -> Path:
        return log_path(home, release_id, service)
