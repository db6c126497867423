"""Rollback to the warm previous release, and going forward again, timed end to end.

Not a test: it prints figures. It makes a real environment from a copy of this checkout
(SQLite, processes, the Caddy switch, the guard) and deploys the same commit. Each round
deploys again (the release before stays warm), rolls back to it (`rollback code --to vN`:
a switch), then goes forward again, each command a fresh `python -m jobnaut`, as an
operator would run it. The rounds run twice in the same environment: with
`[rollback] keep_warm_seconds = 0` (the rollback stops the release it leaves, so forward
is a cold start: the baseline) and with the default 600 (it stays warm: forward is a
switch too, ADR 0018). For each it prints
the time from the operation's start in the command (after the CLI's own start-up, shown
as `jobnaut --help` below) until the target served (`serving_after`) and until the checks
through the public ports passed (`verified_after`), with the command's wall time. The baseline,
measured in the same run: a bare `python -c pass`, a bare route change through the switch
(its rename), and one readiness probe through the public port.

    .venv/bin/python bench/rollback_bench.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchkit import REPO, free_port, source_copy


def jobnaut(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jobnaut", "--home", str(home), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=600)


def timed_json(home: Path, *args: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    done = jobnaut(home, *args, "--json")
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"`jobnaut {' '.join(args)}` failed:\n{done.stderr[-2000:]}")
    return wall, json.loads(done.stdout)


def seconds_of(command: list[str], runs: int = 5) -> float:
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=REPO)
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def baseline(home: Path, api: str) -> dict[str, float]:
    from jobnaut.ops.context import Env
    from jobnaut.ops.drivers import traffic

    env = Env.open(home)
    live = {p.service: p for p in env.ledger.running_processes() if p.role == "live"}
    route, probe = [], []
    for _ in range(20):
        started = time.perf_counter()
        traffic.route(env.home, "backend", live["backend"].port)
        route.append(time.perf_counter() - started)
        started = time.perf_counter()
        httpx.get(f"{api}/health/ready", timeout=10).raise_for_status()
        probe.append(time.perf_counter() - started)
    return {"python -c pass": seconds_of([sys.executable, "-c", "pass"]),
            "jobnaut --help": seconds_of([sys.executable, "-m", "jobnaut", "--help"]),
            "route change": statistics.median(route),
            "readiness probe through the switch": statistics.median(probe)}


Rows = dict[str, list[tuple[float, float, float]]]


def set_keep_warm(home: Path, seconds: int) -> None:
    path = home / "jobnaut.toml"
    text = re.sub(r"^keep_warm_seconds = \S+", f"keep_warm_seconds = {seconds}",
                  path.read_text(), count=1, flags=re.M)
    path.write_text(text)


def rounds(home: Path, count: int, keep_warm: int) -> Rows:
    """Each round deploys again, so the release before it is warm (a deploy keeps it so),
    goes back to it, then forward again: warm only when the rollback kept it so."""
    set_keep_warm(home, keep_warm)
    rows: Rows = {"back": [], "forward": []}
    for n in range(count):
        before = timed_json(home, "status")[1]["active_release"]
        timed_json(home, "deploy", "main", "-m", f"bench: round {n + 1}")
        new = timed_json(home, "status")[1]["active_release"]
        for kind, args in (("back", ("rollback", "code", "--to", before, "--yes")),
                           ("forward", ("rollback", "code", "--to", new, "--yes"))):
            wall, result = timed_json(home, *args)
            rows[kind].append((result["serving_after"], result["verified_after"], wall))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="back-and-forth pairs")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobnaut-rollback-bench-") as tmp:
        root = Path(tmp)
        source, home = source_copy(root), root / "home"
        backend, frontend = free_port(), free_port()
        for args in (("init", "--source", str(source), "--backend-port", str(backend),
                      "--frontend-port", str(frontend), "--guard"),
                     ("deploy", "main", "-m", "bench: v1"),
                     ("deploy", "main", "-m", "bench: v2"),
                     ("up",)):  # starts the guard, which stops a rolled-back release on time
            done = jobnaut(home, *args)
            if done.returncode != 0:
                raise SystemExit(f"`jobnaut {' '.join(args)}` failed:\n{done.stderr[-2000:]}")
        try:
            cold = rounds(home, options.rounds, 0)
            warm = rounds(home, options.rounds, 600)
            base = baseline(home, f"http://127.0.0.1:{backend}")
        finally:
            jobnaut(home, "down")
    print(f"rollback code, {options.rounds} rounds each (min / median / max, seconds)")
    for rows, setting in ((cold, "keep_warm_seconds = 0"), (warm, "keep_warm_seconds = 600")):
        print(f"  [rollback] {setting}")
        for kind, label in (("back", "back to the warm release"), ("forward", "forward again")):
            for n, name in enumerate(("serving after", "verified after", "wall")):
                values = [r[n] for r in rows[kind]]
                print(f"    {label:26} {name:15} {min(values):6.2f} / "
                      f"{statistics.median(values):6.2f} / {max(values):6.2f}")
    print("baseline, same run (median)")
    for name, value in base.items():
        print(f"  {name:36} {value * 1000:8.1f} ms")
    back = statistics.median(r[0] for r in warm["back"])
    print(f"  serving after (back) / jobnaut --help  ×{back / base['jobnaut --help']:.1f}")
    forward = [statistics.median(r[0] for r in rows["forward"]) for rows in (cold, warm)]
    print(f"  forward serving after, kept warm / stopped  ×{forward[1] / forward[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
