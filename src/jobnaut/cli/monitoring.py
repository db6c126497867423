"""Monitoring during an operation (plan: "Monitoring During Rollback"): while a deploy or
rollback runs, and for the bake window after it when asked, the figures of the old and new
release — request rate, 5xx rate, p50/p95 — and the database's, as plain lines on stderr
(between the step lines, never inside one), or at a terminal a live view for the bake.

The guard writes the same figures to the ledger during operations and bake windows; when
the guard is not running, this monitor writes them instead, so the record is never
missing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from rich.live import Live
from rich.markup import escape

from jobnaut.cli.output import err_console
from jobnaut.ops import monitor
from jobnaut.ops.context import Env
from jobnaut.ops.guard import process as guard
from jobnaut.ops.operation import Reporter, Step

EVERY = 2.0  # seconds between two monitor lines


class OperationMonitor:
    def __init__(self, env: Env, every: float = EVERY):
        self.env = env
        self.every = every
        # From now on: the lines before the operation are older than any line it prints.
        self.view = monitor.TrafficView(env, seed=False)
        self._lock = threading.Lock()
        self._step_open = False  # a step's line is half printed: hold monitor lines
        self._pending: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="monitor")

    def wrap(self, report: Reporter) -> Reporter:
        """The step reporter, telling the monitor when a step's line is open."""

        def wrapped(position: int, step: Step, status: str, detail: str | None) -> None:
            with self._lock:
                report(position, step, status, detail)
                self._step_open = status == "running"
                if not self._step_open and self._pending:
                    err_console.print(escape(self._pending))
                    self._pending = None

        return wrapped

    def __enter__(self) -> OperationMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.emit(phase="operation")

    def emit(self, phase: str) -> None:
        now = time.time()
        rows = self.view.rows(now, self.every)
        if not rows:
            return  # no traffic: nothing worth a line
        line = monitor.operation_line(rows)
        database = guard.state(self.env.home).get("database")
        if database:
            line += f" | database {monitor.database_text(database)}"
        with self._lock:
            if self._step_open:
                self._pending = line  # the newest replaces one not yet printed
            else:
                err_console.print(escape(line))
        if not guard.running(self.env.home):
            self.env.ledger.add_traffic_samples([{**row, "phase": phase} for row in rows])

    def follow_bake(self, release: str) -> None:
        """Until the guard's bake window of `release` ends, or another release serves (the
        guard rolled it back): lines, or a live view at a terminal. Ctrl-C leaves early;
        the guard keeps watching either way."""
        state = guard.state(self.env.home)
        if not state.get("running"):
            err_console.print("monitor: the guard is not running: no bake window to follow")
            return
        err_console.print(f"monitor: following the bake window of {release} (Ctrl-C leaves; "
                          "the guard keeps watching)")
        try:
            if err_console.is_terminal:
                from jobnaut.cli.watch_cmd import render

                with Live(console=err_console, refresh_per_second=4) as live:
                    self._follow(release, lambda: live.update(
                        render(monitor.snapshot(self.env, self.view))))
            else:
                self._follow(release, lambda: self.emit(phase="bake"))
        except KeyboardInterrupt:
            err_console.print("monitor: left; the guard keeps watching")

    def _follow(self, release: str, show: Callable[[], None]) -> None:
        while True:
            show()
            outcome = self._bake_outcome(release)
            if outcome:
                err_console.print(f"monitor: {outcome}")
                return
            time.sleep(self.every)

    def _bake_outcome(self, release: str) -> str | None:
        serving = set(monitor.serving(self.env).values())
        if release not in serving:
            said = [e["message"] for e in self.env.ledger.events(20)
                    if e["message"].startswith(f"guard: {release}")]
            return (f"{release} no longer serves ({', '.join(sorted(map(str, serving)))} "
                    "does)" + (f": {said[-1]}" if said else ""))
        watching = guard.state(self.env.home).get("watching") or {}
        if watching.get("release") == release and watching.get("phase") not in (None, "bake"):
            return f"bake window of {release} passed; the guard keeps watching it"
        return None

    def close(self) -> None:
        self.view.close()
