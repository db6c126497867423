"""The guard process of an environment: started by `up` beside the traffic switch, stopped
by `down`, found by `status` — through a pid file with start ticks, like the switch's, so
that a reused pid is never taken for the guard."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from jobnaut.ops import pids
from jobnaut.ops.checks import CheckOutcome
from jobnaut.ops.drivers import process as driver
from jobnaut.ops.environment import Home
from jobnaut.ops.errors import OpsError

START_TIMEOUT = 20.0
STOP_GRACE = 10.0


def pid_file(home: Home) -> Path:
    return home.run / "guard.pid"


def state_file(home: Home) -> Path:
    """What the guard is doing, rewritten by it every few ticks (read by `status`)."""
    return home.run / "guard-state.json"


def metrics_file(home: Home) -> Path:
    """The per-release figures in Prometheus text format, rewritten with each sample."""
    return home.run / "guard-metrics.prom"


def log_file(home: Home) -> Path:
    return home.logs / "guard.log"


def identity(home: Home) -> tuple[int, int | None] | None:
    try:
        data = json.loads(pid_file(home).read_text())
        ticks = data.get("start_ticks")
        return int(data["pid"]), ticks if isinstance(ticks, int) else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def running(home: Home) -> bool:
    found = identity(home)
    return found is not None and driver.is_alive(*found)


def another_guard(home: Home) -> bool:
    """Whether the pid file names another live guard (this one then exits: one guard per
    environment). A missing file is not another guard: `up` writes it just after the
    start."""
    found = identity(home)
    return found is not None and found != pids.own_identity() and driver.is_alive(*found)


# Set in the guard's own process (by `claim`): its supervisor restarts dead services
# through `lifecycle.up`, which ends with `ensure`; the guard must never start a second
# guard from there (that one would find itself recorded and the first would exit).
_INSIDE_GUARD = False


def claim(home: Home) -> bool:
    """Called by the guard at start: record this process in the pid file unless another
    live guard is recorded there (returns False: this one then exits). A guard started by
    hand (`jobnaut guard run`) is thus known to `status`, `down` and `ensure` too."""
    global _INSIDE_GUARD
    _INSIDE_GUARD = True
    if another_guard(home):
        return False
    home.run.mkdir(parents=True, exist_ok=True)
    pid, ticks = pids.own_identity()
    path = pid_file(home)
    temporary = path.with_name(f".{path.name}.{pid}.tmp")
    temporary.write_text(json.dumps({"pid": pid, "start_ticks": ticks}))
    os.replace(temporary, path)
    return True


def ensure(home: Home) -> str | None:
    """Start the guard if it is enabled and not running; returns what was done. Inside the
    guard itself it does nothing: the guard is running."""
    if _INSIDE_GUARD or not home.config.guard.enabled or running(home):
        return None
    home.run.mkdir(parents=True, exist_ok=True)
    home.logs.mkdir(parents=True, exist_ok=True)
    state_file(home).unlink(missing_ok=True)
    with log_file(home).open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobnaut", "--home", str(home.root), "guard", "run"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ},
        )
    pid_file(home).write_text(json.dumps({"pid": proc.pid,
                                          "start_ticks": pids.start_ticks(proc.pid)}))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:  # ready once it has written its first state
        if state_file(home).exists():
            return f"guard started (pid {proc.pid})"
        if proc.poll() is not None:
            raise OpsError(f"the guard exited at start: {driver.tail(log_file(home), 3)}",
                           hint=f"see {log_file(home)}")
        time.sleep(0.05)
    raise OpsError(f"the guard did not start within {START_TIMEOUT:.0f}s",
                   hint=f"see {log_file(home)}")


def stop(home: Home) -> bool:
    """Stop the guard (SIGTERM: it finishes its tick); returns whether one ran."""
    found = identity(home)
    was_running = found is not None and driver.is_alive(*found)
    if found is not None:
        driver.terminate(found[0], STOP_GRACE, found[1])
    pid_file(home).unlink(missing_ok=True)
    return was_running


def health_checks(home: Home) -> list[CheckOutcome]:
    """For `jobnaut health`: each alert the guard has open is a failed critical check (a
    release serving errors or slowly, a service that keeps crashing); a guard that should
    run and does not is a warning (nothing watches, but users are served)."""
    if not home.config.guard.enabled:
        return []
    report = state(home)
    if not report["running"]:
        return [CheckOutcome("guard", False, "not running: nothing watches releases "
                             "(`jobnaut up` starts it)", 0.0, critical=False)]
    alerts = report.get("open_alerts") or []
    outcomes = [CheckOutcome("guard alert", False, alert, 0.0) for alert in alerts]
    watching = report.get("watching") or {}
    detail = (f"watching {watching['release']} ({watching['phase']})" if watching
              else "running, no switch to watch")
    return outcomes or [CheckOutcome("guard", True, f"{detail}; no alert open", 0.0)]


def state(home: Home) -> dict[str, Any]:
    """For `status`: whether the guard runs, and what it last said it was doing."""
    found = identity(home)
    alive = found is not None and driver.is_alive(*found)
    report: dict[str, Any] = {"enabled": home.config.guard.enabled, "running": alive,
                              "pid": found[0] if alive and found else None}
    if alive:
        with contextlib.suppress(OSError, ValueError):  # being rewritten: shown next time
            report.update(json.loads(state_file(home).read_text()))
    return report
