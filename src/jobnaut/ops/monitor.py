"""What `jobnaut watch` and the operations' monitoring show: per-release traffic figures
read from the traffic switch's access log (the guard's own parser and windows), which
release serves each service, the guard's state and alerts, the database's figures and the
last events — as one JSON-able snapshot, and as plain lines for logs and non-terminals.

It reads only: the access log, the ledger and the guard's state file. It works with the
guard down (then it says so), so an operator sees traffic even when nothing watches it."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from jobnaut.ops import probe
from jobnaut.ops.canary import state as canary
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import traffic
from jobnaut.ops.environment import SERVICES
from jobnaut.ops.guard import process as guard
from jobnaut.ops.guard.traffic import LogTailer, TrafficWindows, parse_line, release_rows

SEED_BYTES = 1024 * 1024  # the last minute or so of the access log, for the first view
KEEP_SECONDS = 120.0


class TrafficView:
    """Follows the access log; `rows()` gives the last `span` seconds per release."""

    def __init__(self, env: Env, *, seed: bool = True):
        # Without a seed (an operation's monitor, the dashboard's sampler): from the end of
        # the file on, never reading what came before (one byte back: the tailer then
        # starts after the line that byte is in).
        self.tailer = LogTailer(traffic.traffic_switch(env.home).access_log_path,
                                start_back_bytes=SEED_BYTES if seed else 1)
        if not seed:
            self.tailer.read()
        self.windows = TrafficWindows(KEEP_SECONDS)

    def refresh(self, now: float) -> None:
        self.windows.add(filter(None, map(parse_line, self.tailer.read())))
        self.windows.prune(now)

    def rows(self, now: float, span: float) -> list[dict[str, Any]]:
        self.refresh(now)
        return release_rows(self.windows, now, span)

    def close(self) -> None:
        self.tailer.close()


def serving(env: Env) -> dict[str, str | None]:
    """The release serving each service (a service rolled back alone has its own)."""
    found: dict[str, str | None] = {}
    active = env.ledger.active_release()
    for service in SERVICES:
        release_id = env.ledger.serving_release_id(service)
        found[service] = f"v{release_id}" if release_id else active.name if active else None
    return found


def user_reports(env: Env) -> dict[str, int] | None:
    """How many "report a problem" reports users sent, per release (the plan's support
    ticket volume), read from the live backend's loopback side; None when it cannot say."""
    from jobnaut.ops.drivers import driver_for

    live = [p for p in env.ledger.running_processes()
            if p.service == "backend" and p.role == "live"]
    if not live:
        return None
    answer = probe.get(driver_for(env.home).address(live[0]) + "/reports/counts", 1.0)
    if answer is None or answer.status != 200:
        return None  # a backend that does not answer, or an older release without reports
    try:
        counts = answer.json()["by_release"]
    except (ValueError, KeyError, TypeError):
        return None
    return {str(k): int(v) for k, v in counts.items()} if isinstance(counts, dict) else None


def snapshot(env: Env, view: TrafficView, span: float = 10.0) -> dict[str, Any]:
    now = time.time()
    guard_state = guard.state(env.home)
    return {
        "user_reports": user_reports(env),
        "environment": env.home.config.name,
        "at": datetime.fromtimestamp(now).astimezone().isoformat(timespec="seconds"),
        "serving": serving(env),
        "span_seconds": span,
        "traffic": view.rows(now, span),
        "guard": guard_state,
        "canary": canary.current(env),
        "database": guard_state.get("database"),
        "events": env.ledger.events(6),
    }


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def figures_text(row: dict[str, Any]) -> str:
    rate = row["requests"] / row["seconds"]
    errors = row["errors"] / row["requests"] if row["requests"] else 0.0
    return (f"{rate:.1f} req/s, 5xx {errors:.1%} of {row['requests']}, "
            f"p50 {ms(row['p50'])}, p95 {ms(row['p95'])}")


def guard_text(state: dict[str, Any]) -> str:
    if not state.get("enabled"):
        return "disabled"
    if not state.get("running"):
        return "NOT RUNNING (nothing watches releases; `jobnaut up` starts it)"
    watching = state.get("watching") or {}
    if watching.get("phase") == "bake":
        doing = f"baking {watching['release']} ({watching['bake_left']:.0f} s left)"
    elif watching:
        doing = f"watching {watching['release']} ({watching['phase']})"
    else:
        doing = "idle"
    alerts = state.get("open_alerts") or []
    return f"running (pid {state.get('pid')}), {doing}; " + (
        f"{len(alerts)} alert(s) open" if alerts else "no alert open")


def database_text(database: dict[str, Any] | None) -> str:
    if not database:
        return "no figures (the guard reads them)"
    if database.get("error"):
        return f"PROBLEM: {database['error']}"
    parts = [f"query {database['query_ms']:.0f} ms"]
    for key, label in (("connections", "connections"), ("lock_waits", "lock waits"),
                       ("long_transactions", "transactions > 30 s")):
        if database.get(key) is not None:
            parts.append(f"{label} {database[key]}")
    return f"{database.get('kind', 'database')}: " + ", ".join(parts)


def lines(snap: dict[str, Any]) -> list[str]:
    """The snapshot as plain lines (no colour, no layout): for pipes, logs and `--once`."""
    out = [f"environment {snap['environment']} at {snap['at']}",
           "serving: " + ", ".join(f"{s} {r or '-'}" for s, r in snap["serving"].items())]
    if snap.get("canary"):
        out.append(str(canary.text(snap["canary"])))
    out.append(f"traffic (last {snap['span_seconds']:.0f} s):")
    out += [f"  {row['service']} {row['release']}: {figures_text(row)}"
            for row in snap["traffic"]] or ["  no requests"]
    out.append(f"guard: {guard_text(snap['guard'])}")
    out += [f"  ALERT OPEN: {alert}" for alert in snap["guard"].get("open_alerts") or []]
    out.append(f"database: {database_text(snap['database'])}")
    reports = snap.get("user_reports")
    said = "unknown" if reports is None else \
        (", ".join(f"{r} {n}" for r, n in sorted(reports.items())) or "none")
    out.append(f"user reports (report a problem): {said}")
    out.append("last events:")
    out += [f"  {e['at'][11:19]} {e['level']:<7} {e['message']}" for e in snap["events"]]
    return out


def operation_line(rows: list[dict[str, Any]]) -> str:
    """One line of an operation's monitoring: every release with traffic, old and new side
    by side per service."""
    if not rows:
        return "monitor: no requests in the last seconds"
    by_service: dict[str, list[str]] = {}
    for row in rows:
        by_service.setdefault(row["service"], []).append(
            f"{row['release']} {figures_text(row)}")
    return "monitor: " + " | ".join(f"{service}: " + "; ".join(parts)
                                    for service, parts in by_service.items())
