"""What the dashboard draws: figure points per (service, release), markers and the
timeline. History comes from the ledger's traffic samples (written by the guard during
operations and bake windows); from the dashboard's start on, a sampler reads the access
log every few seconds so the charts move also when nothing is baking."""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime
from typing import Any

from jobnaut.ops import monitor
from jobnaut.ops.context import Env
from jobnaut.ops.guard import process as guard
from jobnaut.ops.guard.bake import RETURNING_KINDS

KEEP_POINTS = 20_000
HISTORY_SAMPLES = 2_000


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def point(at: float, row: dict[str, Any]) -> dict[str, Any]:
    requests = row["requests"]
    return {"t": round(at, 3), "service": row["service"], "release": row["release"],
            "rate": round(requests / row["seconds"], 3),
            "errors": round(100.0 * row["errors"] / requests, 2) if requests else 0.0,
            "p50": None if row["p50"] is None else round(row["p50"] * 1000, 1),
            "p95": None if row["p95"] is None else round(row["p95"] * 1000, 1)}


class Sampler:
    """The ledger's history at start, then a point per release every `every` seconds."""

    def __init__(self, env: Env, every: float = 2.0):
        self.env = env
        self.every = every
        self.points: deque[dict[str, Any]] = deque(
            (point(epoch(s["at"]), s) for s in env.ledger.traffic_samples(HISTORY_SAMPLES)),
            maxlen=KEEP_POINTS)
        self.view = monitor.TrafficView(env, seed=False)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sampler")

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self.view.close()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            now = time.time()
            rows = self.view.rows(now, self.every)
            with self._lock:
                self.points.extend(point(now, row) for row in rows)

    def since(self, t: float) -> list[dict[str, Any]]:
        with self._lock:
            return [p for p in self.points if p["t"] > t]


def markers(env: Env) -> list[dict[str, Any]]:
    """A switch (deploy, config release) or rollback per operation and release, each
    canary step, and each alert the guard raised or acted on (or a canary breach)."""
    found: dict[tuple[int | None, int], dict[str, Any]] = {}
    for a in env.ledger.activations():
        kind = a.operation_kind or "switch"
        returning = kind in RETURNING_KINDS or kind.startswith("rollback")
        key = (a.operation_id, a.release_id)
        if key not in found:
            found[key] = {"t": epoch(a.started_at),
                          "kind": "rollback" if returning else "switch",
                          "label": f"{'rollback to' if returning else 'switch to'} "
                                   f"v{a.release_id} ({kind})"}
    out = sorted(found.values(), key=lambda m: m["t"])
    for e in env.ledger.events(500):
        message = e["message"]
        if (message.startswith("guard alert") or " breached its bake window" in message
                or (message.startswith("canary: ") and " breached at " in message)):
            out.append({"t": epoch(e["at"]), "kind": "alert", "label": message})
        elif message.startswith("canary: ") and " takes " in message:
            out.append({"t": epoch(e["at"]), "kind": "canary",
                        "label": message.removeprefix("canary: ").split(" (")[0]})
    return sorted(out, key=lambda m: m["t"])


def payload(env: Env, sampler: Sampler, since: float) -> dict[str, Any]:
    state = guard.state(env.home)
    return {"environment": env.home.config.name, "now": time.time(),
            "serving": monitor.serving(env), "points": sampler.since(since),
            "markers": markers(env), "guard": monitor.guard_text(state),
            "open_alerts": state.get("open_alerts") or [],
            "database": monitor.database_text(state.get("database")),
            "timeline": [{"t": epoch(e["at"]), "level": e["level"], "message": e["message"]}
                         for e in reversed(env.ledger.events(30))]}
