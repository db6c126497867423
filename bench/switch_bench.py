"""The Caddy traffic switch against direct access to a real JobNaut backend.

Not a test: it prints figures. It migrates a fresh SQLite database, starts two real
backends (`python -m jobnaut serve backend`, releases "blue" and "green") on loopback
ports, puts a Caddy switch (jobnaut.ops.caddy) in front, and measures with `wrk`:

- GET /health directly on blue's port and through Caddy, at 1 and 32 connections:
  throughput ratio, and p50 latency added by Caddy at 1 connection;
- the duration of a switch: from the call to route() (an atomic rename of the dial
  file) to the first response from the new release (`GET /version` names it);
- requests lost while wrk drives 32 connections and the switch flips N times.

    apt-get install -y wrk
    .venv/bin/python bench/switch_bench.py [--seconds 10] [--switches 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchkit import free_port, serve_backend
from jobnaut.app import schema
from jobnaut.app.db import make_engine, make_sessionmaker
from jobnaut.app.jobs.demo import load_demo_if_empty
from jobnaut.config import parse_database_url
from jobnaut.ops.caddy import CaddySwitch, SwitchSettings


def get(port: int, path: str) -> tuple[int, bytes]:
    """One request on a new connection (what a new client does)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextmanager
def backend(release: str, database_url: str, log_dir: Path) -> Iterator[int]:
    with serve_backend(database_url, log_dir / f"backend-{release}.log", release) as port:
        yield port


# --- wrk -------------------------------------------------------------------------------

@dataclass
class Wrk:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(output: str) -> Wrk:
    def latency(percent: str) -> float:
        found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        return _ms(*found.groups()) if found else float("nan")

    requests = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    return Wrk(
        requests=int(requests.group(1)) if requests else 0,
        rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=latency("50"), p99_ms=latency("99"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


PATHS = {"health": "/health", "search": "/api/jobs?q=python&per_page=20"}


def wrk_command(port: int, connections: int, seconds: float,
                path: str = PATHS["health"]) -> list[str]:
    threads = min(connections, 2)
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
            "--timeout", "5s", f"http://127.0.0.1:{port}{path}"]


def wrk(port: int, connections: int, seconds: float, path: str = PATHS["health"]) -> Wrk:
    result = subprocess.run(wrk_command(port, connections, seconds, path), capture_output=True,
                            text=True, check=True, timeout=seconds + 30)
    return parse_wrk(result.stdout)


# --- the measurements ------------------------------------------------------------------

Figures = dict[tuple[str, int], dict[str, Wrk]]  # (path name, connections) -> direct/caddy


def throughput(direct_port: int, switch_port: int, seconds: float) -> Figures:
    """Direct and through Caddy, interleaved so that a drift of the machine hits both."""
    figures: Figures = {}
    for name, path in PATHS.items():
        for connections in (1, 32):
            wrk(switch_port, connections, 2, path)  # warm-up: upstream connections, caches
            figures[name, connections] = {"direct": wrk(direct_port, connections, seconds, path),
                                          "caddy": wrk(switch_port, connections, seconds, path)}
    return figures


@dataclass
class Switching:
    route_call: list[float]  # seconds in route(): write and rename the files
    to_first_answer: list[float]  # route() → first response naming the new release
    attempts: list[int]  # requests until the new release answered (1 = the first one)
    direct_version: list[float]  # GET /version on a new connection, directly: a floor


def switch_durations(switch: CaddySwitch, public: int, ports: dict[str, int],
                     count: int) -> Switching:
    figures = Switching([], [], [], [])
    for i in range(count):
        release = "green" if i % 2 == 0 else "blue"
        started = time.perf_counter()
        switch.route("backend", ports[release], release=release)
        figures.route_call.append(time.perf_counter() - started)
        attempts = 0
        while True:
            attempts += 1
            status, body = get(public, "/version")
            if status == 200 and json.loads(body)["release"] == release:
                break
            if time.perf_counter() - started > 5:
                raise RuntimeError(f"switch {i} to {release} not seen within 5s")
        figures.to_first_answer.append(time.perf_counter() - started)
        figures.attempts.append(attempts)
        direct = time.perf_counter()
        get(ports[release], "/version")
        figures.direct_version.append(time.perf_counter() - direct)
    return figures


def switches_under_load(switch: CaddySwitch, public: int, ports: dict[str, int],
                        count: int, seconds: float) -> tuple[Wrk, int]:
    """wrk at 32 connections while the switch flips `count` times, evenly spaced."""
    wrk_proc = subprocess.Popen(wrk_command(public, 32, seconds), stdout=subprocess.PIPE,
                                text=True)
    time.sleep(0.5)
    interval = (seconds - 1.0) / count
    done = 0
    for i in range(count):
        release = "green" if i % 2 == 0 else "blue"
        switch.route("backend", ports[release], release=release)
        done += 1
        time.sleep(interval)
    output, _ = wrk_proc.communicate(timeout=seconds + 30)
    return parse_wrk(output), done


def access_log_statuses(path: Path, since: float) -> dict[int, int]:
    counts: dict[int, int] = {}
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("ts", 0) >= since:
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    return counts


# --- the run ---------------------------------------------------------------------------

def report(figures: Figures, switching: Switching, loaded: Wrk,
           flips: int, statuses: dict[int, int]) -> None:
    print(f"\nA real JobNaut backend (SQLite, demo jobs), wrk over loopback: "
          f"{', '.join(f'{k} = GET {v}' for k, v in PATHS.items())}\n")
    print(f"{'request':>8} {'conns':>5} {'via':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'errors':>7}")
    for (name, connections), pair in figures.items():
        for via, w in pair.items():
            print(f"{name:>8} {connections:>5} {via:>7} {w.rps:>9.0f} {w.p50_ms:>8.2f} "
                  f"{w.p99_ms:>8.2f} {w.non_2xx + w.socket_errors:>7}")
    print()
    for (name, connections), pair in figures.items():
        direct, caddy = pair["direct"], pair["caddy"]
        ratio = caddy.rps / direct.rps if direct.rps else float("nan")
        print(f"{name} at {connections:>2} connection(s): throughput Caddy/direct {ratio:.2f}, "
              f"p50 added {caddy.p50_ms - direct.p50_ms:+.3f} ms")
    def ms(values: list[float]) -> str:
        return (f"median {statistics.median(values) * 1000:.2f} ms, "
                f"max {max(values) * 1000:.2f} ms")

    print(f"\n{len(switching.route_call)} switches:")
    print(f"  route() call (write + rename):                     {ms(switching.route_call)}")
    print(f"  route() → first response from the new release:     "
          f"{ms(switching.to_first_answer)}")
    print(f"  for comparison, GET /version directly (new conn.): "
          f"{ms(switching.direct_version)}")
    print(f"  requests until the new release answered: max {max(switching.attempts)} "
          f"(1 = the very first request after route() returned)")
    print(f"\nunder load (wrk, 32 connections): {loaded.requests} requests, {flips} switches, "
          f"non-2xx {loaded.non_2xx}, socket errors {loaded.socket_errors}; "
          f"access log statuses {statuses}")
    print("(499 = the client closed the request: wrk closes its connections at the end of its "
          "run with requests in flight; at most one a connection)")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="per wrk measurement")
    parser.add_argument("--switches", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jn-sw-")))
        database_url = f"sqlite:///{workdir / 'bench.db'}"
        engine = make_engine(parse_database_url(database_url))
        schema.upgrade(engine)
        load_demo_if_empty(make_sessionmaker(engine))
        engine.dispose()
        ports = {release: stack.enter_context(backend(release, database_url, workdir))
                 for release in ("blue", "green")}
        public = free_port()
        switch = CaddySwitch(SwitchSettings(run_dir=workdir / "run", log_dir=workdir / "logs",
                                            ports={"backend": public}))
        switch.start()
        stack.callback(switch.stop)
        switch.route("backend", ports["blue"], release="blue")
        print(f"load average (1 min) at the start: {os.getloadavg()[0]:.2f} "
              f"on {os.cpu_count()} cores")

        figures = throughput(ports["blue"], public, args.seconds)
        switching = switch_durations(switch, public, ports, args.switches)
        since = time.time()
        loaded, flips = switches_under_load(switch, public, ports, args.switches,
                                            max(args.seconds, 10))
        time.sleep(0.5)  # the access log is written as each response ends
        report(figures, switching, loaded, flips,
               access_log_statuses(switch.access_log_path, since))
    return 0


if __name__ == "__main__":
    sys.exit(main())
