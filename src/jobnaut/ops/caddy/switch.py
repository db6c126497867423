"""One environment's Caddy traffic switch: start it, route services, stop it.

A route change is a file written beside and renamed over the dial file that Caddy reads per
request: no reload, so no request is dropped (see config.py). A split between two releases
(canary) is files too: the config Caddy loads at start never changes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from jobnaut.ops import pids, probe
from jobnaut.ops.caddy.binary import caddy_executable
from jobnaut.ops.caddy.config import (
    PAGE_NAMES,
    STATUS_FEEDS,
    Layout,
    SwitchSettings,
    build_config,
    check_weights,
    share_threshold,
    validate,
)
from jobnaut.ops.errors import OpsError

START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
DEFAULT_PAGES = {
    "maintenance": "<!doctype html><title>Maintenance</title>"
                   "<h1>Down for maintenance</h1><p>We will be back shortly.</p>",
    "outage": "<!doctype html><title>Unavailable</title>"
              "<h1>Temporarily unavailable</h1><p>Please try again in a moment.</p>",
    "status": "<!doctype html><title>Status</title><h1>Status</h1><p>No news.</p>",
}


class CaddySwitch:
    def __init__(self, settings: SwitchSettings):
        validate(settings)
        self.settings = settings
        self.layout = Layout(settings.run_dir, settings.log_dir)

    @property
    def access_log_path(self) -> Path:
        return self.layout.access_log

    # --- process ------------------------------------------------------------------------

    def start(self) -> None:
        """Start Caddy detached (its own session). If it already runs, it keeps running;
        only a config written by another version of this code (an upgrade) is loaded."""
        config = json.dumps(build_config(self.settings), indent=2)
        if self.running():
            self._load_if_changed(config)
            return
        caddy = caddy_executable()
        self._prepare_files()
        self.layout.config_file.write_text(config)
        self.layout.admin_socket.unlink(missing_ok=True)
        out_path = self.layout.log_dir / "caddy.out"
        log_offset = _size(self.layout.server_log)
        with out_path.open("ab") as out:
            proc = subprocess.Popen(
                [str(caddy), "run", "--config", str(self.layout.config_file)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.layout.run_dir, env=self._environment(),
            )
        ticks = pids.start_ticks(proc.pid)
        _atomic_write(self.layout.pid_file, json.dumps({"pid": proc.pid, "start_ticks": ticks}))
        self._wait_admin(proc, out_path, log_offset)

    def running(self) -> bool:
        record = self._pid_record()
        if record is None:
            return False
        pid, ticks = record
        _reap(pid)  # a Caddy that we started and that died is a zombie until reaped
        return pids.exists(pid) and (ticks is None or pids.start_ticks(pid) == ticks)

    def identity(self) -> tuple[int, int | None] | None:
        """(pid, start ticks) as recorded at start, whether or not it still runs."""
        return self._pid_record()

    def answers(self) -> bool:
        """Running and answering on its admin socket."""
        return self.running() and self._admin("GET", "/config/") is not None

    def pid(self) -> int | None:
        record = self._pid_record()
        return record[0] if record and self.running() else None

    def stop(self) -> None:
        """SIGTERM (Caddy finishes requests in flight within the grace period), then wait."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            while pids.exists(pid) and time.monotonic() < deadline:
                _reap(pid)
                time.sleep(0.05)
            if pids.exists(pid):
                os.kill(pid, signal.SIGKILL)
                _reap(pid)
        self.layout.pid_file.unlink(missing_ok=True)
        self.layout.admin_socket.unlink(missing_ok=True)

    # --- routes -------------------------------------------------------------------------

    def route(self, service: str, port: int | None, release: str | None = None,
              hosts: Sequence[str] = ("127.0.0.1",)) -> None:
        """Send `service` to `port` on `hosts` from the next request on; None = maintenance
        (503 page or JSON). `release` names the release in the access log. Each upstream
        slot gets a host (they repeat when there are fewer hosts than slots)."""
        self._check_service(service)
        if port is None:
            _atomic_write(self.layout.maintenance_flag(service), "on")
            return
        if not 1 <= port <= 65535:
            raise OpsError(f"bad upstream port {port!r}", exit_code=2)
        for slot in range(self.settings.upstream_slots, 0, -1):  # the first one last
            host = hosts[(slot - 1) % len(hosts)]
            _atomic_write(self.layout.dial_file(service, slot), f"{host}:{port}")
        # Named after the dial: a request between the two writes is counted for the release
        # leaving, never a leaving release's errors for the one the guard then judges.
        _atomic_write(self.layout.release_file(service), release or f"port-{port}")
        self.layout.maintenance_flag(service).unlink(missing_ok=True)
        self.layout.split_flag(service).unlink(missing_ok=True)  # every session here now
        self.layout.weights_file(service).unlink(missing_ok=True)

    def routes(self) -> dict[str, str | None]:
        """What each service is routed to: 'host:port', 'weighted:p1=w1,p2=w2' or None."""
        return {service: self._route_of(service) for service in self.settings.ports}

    def upstreams(self, service: str) -> list[str]:
        """Every upstream slot's 'host:port'."""
        found = []
        for slot in range(1, self.settings.upstream_slots + 1):
            with contextlib.suppress(FileNotFoundError):
                found.append(self.layout.dial_file(service, slot).read_text().strip())
        return found

    def release_of(self, service: str) -> str | None:
        """The release the access log names for the service's traffic."""
        try:
            return self.layout.release_file(service).read_text().strip() or None
        except FileNotFoundError:
            return None

    def set_weights(self, service: str, weights: Mapping[int, int],
                    releases: Mapping[int, str] | None = None) -> None:
        """Split new sessions between two upstreams by weight: the first is the release
        serving (base), the second the canary. A cookie naming its release keeps each
        client on it while the split lasts, whatever the weights become. `releases` names
        the release on each port (cookie and access log). No reload: a step is the
        threshold file, from the next request on; the next `route` ends the split."""
        self._check_service(service)
        check_weights(service, weights)
        (base, base_weight), (canary, canary_weight) = weights.items()
        names = {port: _cookie_safe((releases or {}).get(port), port) for port in weights}
        parts = {"base-dial": f"127.0.0.1:{base}", "base-release": names[base],
                 "canary-dial": f"127.0.0.1:{canary}", "canary-release": names[canary],
                 "threshold": share_threshold(canary_weight / (base_weight + canary_weight))}
        for part, text in parts.items():
            _atomic_write(self.layout.split_file(service, part), text)
        _atomic_write(self.layout.weights_file(service), json.dumps({
            "weights": {str(port): weight for port, weight in weights.items()},
            "releases": {str(port): name for port, name in names.items()}}))
        self.layout.maintenance_flag(service).unlink(missing_ok=True)
        _atomic_write(self.layout.split_flag(service), "on")

    def write_page(self, name: str, html: str) -> None:
        """The maintenance, outage or status page, served as a file (no reload)."""
        if name not in PAGE_NAMES:
            raise OpsError(f"unknown page {name!r}", hint=f"one of {', '.join(PAGE_NAMES)}",
                           exit_code=2)
        self.layout.pages_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.layout.page(name), html)

    def write_feed(self, name: str, text: str) -> None:
        """status.json or status.atom, served beside the status page."""
        if name not in STATUS_FEEDS:
            raise OpsError(f"unknown status feed {name!r}",
                           hint=f"one of {', '.join(STATUS_FEEDS)}", exit_code=2)
        self.layout.pages_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.layout.pages_dir / name, text)

    # --- internals ----------------------------------------------------------------------

    def _check_service(self, service: str) -> None:
        if service not in self.settings.ports:
            raise OpsError(f"unknown service {service!r}",
                           hint=f"one of {', '.join(self.settings.ports)}", exit_code=2)

    def _route_of(self, service: str) -> str | None:
        if self.layout.maintenance_flag(service).exists():
            return None
        if self.layout.split_flag(service).exists():
            with contextlib.suppress(OSError, ValueError, KeyError):
                weights = json.loads(self.layout.weights_file(service).read_text())["weights"]
                return "weighted:" + ",".join(f"{p}={w}" for p, w in weights.items())
        try:
            return self.layout.dial_file(service).read_text().strip() or None
        except FileNotFoundError:
            return None

    def _prepare_files(self) -> None:
        """Directories, default pages, and maintenance for a service never routed: with no
        live release the switch answers 503, never a connection error."""
        for directory in (self.layout.run_dir, self.layout.log_dir, self.layout.pages_dir,
                          self.layout.data_dir):
            directory.mkdir(parents=True, exist_ok=True)
        for name, html in DEFAULT_PAGES.items():
            if not self.layout.page(name).exists():
                self.write_page(name, html)
        for service in self.settings.ports:
            if not self.layout.dial_file(service).exists():
                _atomic_write(self.layout.maintenance_flag(service), "on")

    def _environment(self) -> dict[str, str]:
        """Caddy keeps its data (certificates) in the run directory, not in $HOME."""
        data = str(self.layout.data_dir)
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": data,
                "XDG_DATA_HOME": data, "XDG_CONFIG_HOME": data}

    def _wait_admin(self, proc: subprocess.Popen[bytes], out_path: Path,
                    log_offset: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.layout.pid_file.unlink(missing_ok=True)
                reason = _last_error(self.layout.server_log, log_offset) or _tail(out_path)
                raise OpsError(f"caddy exited with code {proc.returncode}: {reason}",
                               hint=f"see {self.layout.server_log}")
            if self._admin("GET", "/config/") is not None:
                return
            time.sleep(0.05)
        self.stop()
        raise OpsError(f"caddy's admin socket did not answer within {START_TIMEOUT:.0f}s",
                       hint=f"see {out_path}")

    def _load_if_changed(self, config: str) -> None:
        """The one reload left: the config itself changed (a new JobNaut, new settings)."""
        try:
            if self.layout.config_file.read_text() == config:
                return
        except OSError:
            pass
        response = self._admin("POST", "/load", config.encode())
        if response is None or response.status != 200:
            detail = (response.body.decode(errors="replace").strip() if response is not None
                      else "no answer")
            raise OpsError(f"caddy refused the new config: {detail}")
        self.layout.config_file.write_text(config)

    def _admin(self, method: str, path: str, body: bytes | None = None) -> probe.Answer | None:
        return probe.over_unix_socket(str(self.layout.admin_socket), method, path, timeout=30,
                                      body=body)

    def _pid_record(self) -> tuple[int, int | None] | None:
        try:
            record = json.loads(self.layout.pid_file.read_text())
            return int(record["pid"]), record.get("start_ticks")
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _atomic_write(path: Path, text: str) -> None:
    """Readers see the old content or the new, never a partial file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _cookie_safe(name: str | None, port: int) -> str:
    """A release name as a cookie value (and a file's text): its own when plain."""
    if name and all(c.isalnum() or c in "._-" for c in name) and len(name) <= 64:
        return name
    return f"port-{port}"


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _last_error(log: Path, offset: int) -> str | None:
    """The last error Caddy logged after `offset` (its JSON log: why it stopped)."""
    try:
        with log.open("rb") as stream:
            stream.seek(offset)
            lines = stream.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal"):
            return str(entry.get("msg", ""))
    return None


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""
