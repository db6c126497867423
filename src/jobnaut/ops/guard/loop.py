"""The guard's loop (`jobnaut guard run`): every tick it reads the new access-log lines,
follows switches from the ledger, judges the watched release, restarts dead processes,
and writes samples, metrics and its state."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

from jobnaut.ops import lock
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import traffic
from jobnaut.ops.guard import database, process, respond
from jobnaut.ops.guard.bake import Switch, Watch, compare, reference, switches
from jobnaut.ops.guard.database import DatabaseWatch
from jobnaut.ops.guard.exporter import MetricsServer
from jobnaut.ops.guard.probes import ProbeWatch, Target
from jobnaut.ops.guard.supervise import Supervisor
from jobnaut.ops.guard.traffic import (
    LogTailer,
    TrafficWindows,
    parse_line,
    prometheus,
    release_rows,
)
from jobnaut.ops.guard.verdict import Verdict
from jobnaut.ops.ledger import now as iso_now

SEED_BYTES = 4 * 1024 * 1024  # recent access-log history read at start, for baselines


class Guard:
    def __init__(self, env: Env):
        self.env = env
        self.s = env.home.config.guard
        self.tailer = LogTailer(traffic.traffic_switch(env.home).access_log_path,
                                start_back_bytes=SEED_BYTES)
        keep = self.s.baseline_seconds + self.s.bake_seconds + self.s.window_seconds + 60
        self.windows = TrafficWindows(keep)
        self.supervisor = Supervisor(env, self.s)
        self.watch: Watch | None = None
        self.probes: ProbeWatch | None = None  # started by run(), with the other threads
        history = env.ledger.activations()
        self.seen = history[-1].id if history else 0
        # A switch made shortly before the guard started (it was down, or is new) is baked
        # for the rest of its window.
        recent = switches(history, 0)
        if recent:
            self._follow(recent[-1])
        self.next_sample = 0.0
        self.alerts: list[str] = []  # the last few, opened or not, for `status`
        # Alerts open now (key: "traffic:<service>"): `health` exits 1 while one is open.
        self.open_alerts: dict[str, str] = {}
        self.exporter: MetricsServer | None = None
        self.database: DatabaseWatch | None = None

    # --- one tick -----------------------------------------------------------------------

    def tick(self, now: float) -> None:
        self.windows.add(filter(None, map(parse_line, self.tailer.read())))
        self.windows.prune(now)
        self._new_switches()
        if self.watch is not None and not self.watch.done:
            self._judge(now)
        self.supervisor.tick(now)
        self.supervisor.retire_expired()
        self._cluster()
        if now >= self.next_sample:
            self.next_sample = now + self.s.sample_seconds
            self._sample(now)

    def _cluster(self) -> None:
        """Swarm: a node lost (or back) is an alert opened (or closed) and on the timeline."""
        problems = getattr(self.supervisor.runs(), "problems", None)
        if problems is None:
            return
        now_open = {f"node:{p.split()[1]}": p for p in problems()}
        for key, text in now_open.items():
            if key not in self.open_alerts:
                self.env.ledger.event(f"guard: {text}", level="error")
                self.open_alerts[key] = text
        for key in [k for k in self.open_alerts if k.startswith("node:")]:
            if key not in now_open:
                self.open_alerts.pop(key)
                self.env.ledger.event(f"guard: node {key[5:]} is ready again")

    def _new_switches(self) -> None:
        history = self.env.ledger.activations()
        found = switches(history, self.seen)
        if history:
            self.seen = history[-1].id
        for switch in found:  # the newest one wins
            self._follow(switch)

    def _follow(self, switch: Switch) -> None:
        if self.watch is not None and self.open_alerts:
            self.env.ledger.event(f"guard: alerts on {self.watch.switch.release} closed: "
                                  f"{switch.release} serves now")
            self.open_alerts.clear()
        self.watch = Watch(switch, bake_until=switch.at + self.s.bake_seconds,
                           returning=switch.returning or self._config_rollback(switch))
        self._probe(self.watch)
        if time.time() < self.watch.bake_until:
            self.env.ledger.event(f"guard: baking {switch.release} for "
                                  f"{self.s.bake_seconds:.0f} s after its switch "
                                  f"({switch.operation_kind or 'switch'})")

    def _probe(self, watch: Watch | None) -> None:
        """Probe the integrations of a release in its bake window, with the configuration
        of the release before it as the control (a rollback is only watched)."""
        if self.probes is None:
            return
        previous = watch.switch.previous.get("backend") if watch else None
        if watch is None or watch.returning or watch.done or previous is None \
                or time.time() >= watch.bake_until:
            self.probes.watch(None)
            return
        ledger, env = self.env.ledger, self.env
        config = env.config_of(ledger.release(watch.switch.release_id).config_id)
        control = env.config_of(ledger.release(previous).config_id)
        self.probes.watch(Target(watch.switch.release, f"v{previous}", lambda: config,
                                 lambda: control))

    def _config_rollback(self, switch: Switch) -> bool:
        """A config rollback is a config release like any other in the activation history;
        its operation's arguments say it returned to an earlier snapshot."""
        if switch.operation_id is None:
            return False
        try:
            return bool(self.env.ledger.operation(switch.operation_id).args.get("rollback"))
        except KeyError:
            return False

    def _judge(self, now: float) -> None:
        watch = self.watch
        assert watch is not None
        baking = watch.baking(now)
        if not baking and watch.reference is None:
            watch.reference = reference(self.windows, watch, now, self.s)
        for service in watch.switch.services:
            verdict = compare(self.windows, watch, service, now, self.s)
            watch.last = f"{service}: {verdict.evidence}"
            if not verdict.breach:
                if service in watch.alerting:
                    watch.alerting.discard(service)
                    self.open_alerts.pop(f"traffic:{service}", None)
                    self.env.ledger.event(f"guard: alert resolved: {watch.switch.release} "
                                          f"{service}: {verdict.evidence}")
                    self.write_state(now)
                continue
            self._breach(watch, verdict, service, baking, now)
            if watch.done:
                return
        if not baking and self.probes is not None:
            self.probes.watch(None)  # probes belong to the bake window
        probed = self.probes.verdict(watch.switch.release) if self.probes else None
        if probed is not None:
            watch.last = f"backend: {probed.evidence}"
            self._breach(watch, probed, "backend", baking, now, key="probe:backend")
        elif "probe:backend" in watch.alerting:
            watch.alerting.discard("probe:backend")
            self.open_alerts.pop("probe:backend", None)
            self.env.ledger.event(f"guard: alert resolved: {watch.switch.release} backend: "
                                  "the integrations' probes pass again (or its bake ended)")
            self.write_state(now)

    def _breach(self, watch: Watch, verdict: Verdict, service: str, baking: bool,
                now: float, key: str | None = None) -> None:
        """Roll back (in the bake window, or always), or raise an alert once (per `key`:
        a service's traffic, or the probes)."""
        acts = (self.s.auto_rollback == "always"
                or (baking and self.s.auto_rollback == "bake"))
        alert = key or service
        if acts and not watch.returning:
            self._roll_back(watch, verdict, service)
        elif alert not in watch.alerting:
            watch.alerting.add(alert)
            phase = "bake window" if baking else "watch"
            message = (f"guard alert: {watch.switch.release} {service} ({phase}): "
                       f"{verdict.evidence}")
            if watch.returning and acts:
                message += "; not rolled back by the guard: this switch was a rollback"
            self.alerts = [*self.alerts[-4:], message]
            self.open_alerts[key or f"traffic:{service}"] = message
            self.env.ledger.event(message, level="error")
            self.write_state(now)

    def _roll_back(self, watch: Watch, verdict: Verdict, service: str) -> None:
        outcome = respond.roll_back(self.env, watch.switch, verdict, service)
        if outcome.final:
            watch.done = True
            if outcome.status == "superseded":
                return
            self.alerts = [*self.alerts[-4:], f"{watch.switch.release}: {outcome.detail}"]
            return
        if outcome.detail not in watch.recorded:  # each reason once, not every tick
            watch.recorded.add(outcome.detail)
            self.env.ledger.event(f"guard: {watch.switch.release} breached ({service} "
                                  f"{verdict.evidence}) but not rolled back: {outcome.detail}",
                                  level="warning")

    # --- what the guard leaves for others -------------------------------------------------

    def _sample(self, now: float) -> None:
        span = self.s.sample_seconds
        text = (prometheus(self.windows, now, span) + self._own_metrics(now)
                + database.prometheus(self.database.latest if self.database else None))
        process.metrics_file(self.env.home).write_text(text)
        if self.exporter is not None:
            self.exporter.publish(text)
        baking = self.watch is not None and self.watch.baking(now)
        busy = lock.holder(self.env.home.lock_path) is not None
        if baking or busy:
            phase = "bake" if baking else "operation"
            rows = [{**row, "phase": phase} for row in release_rows(self.windows, now, span)]
            if rows:
                self.env.ledger.add_traffic_samples(rows)
        self.write_state(now)

    def _own_metrics(self, now: float) -> str:
        lines = ["# HELP jobnaut_guard_open_alerts Alerts the guard has open now.",
                 "# TYPE jobnaut_guard_open_alerts gauge",
                 f"jobnaut_guard_open_alerts {len(self.current_alerts(now))}",
                 "# HELP jobnaut_guard_restarts Restarts of a dead service in the crash window.",
                 "# TYPE jobnaut_guard_restarts gauge"]
        lines += [f'jobnaut_guard_restarts{{service="{s}"}} {n}'
                  for s, n in sorted(self.supervisor.counts(now).items())]
        return "\n".join(lines) + "\n"

    def current_alerts(self, now: float) -> list[str]:
        """Open traffic alerts, and services that keep crashing (open while their restarts
        in the crash window reach the alert count)."""
        crashing = [f"{service} keeps crashing ({n} restarts in "
                    f"{self.s.crash_window:.0f} s)"
                    for service, n in sorted(self.supervisor.counts(now).items())
                    if n >= self.s.crash_alert_restarts]
        return [*self.open_alerts.values(), *crashing]

    def write_state(self, now: float) -> None:
        watch = self.watch
        watching = None
        if watch is not None:
            watching = {"release": watch.switch.release,
                        "phase": "done" if watch.done else
                                 "bake" if watch.baking(now) else "watch",
                        "bake_left": max(0.0, round(watch.bake_until - now, 1)),
                        "last": watch.last}
        data = {"updated_at": iso_now(), "watching": watching, "alerts": self.alerts,
                "open_alerts": self.current_alerts(now),
                "restarts": self.supervisor.counts(now),
                "metrics_url": self.exporter.url if self.exporter else None,
                "database": self.database.latest if self.database else None}
        path = process.state_file(self.env.home)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, path)


def _preload() -> None:
    """Import now what a rollback imports on first use (the database driver and schema
    code read the revision): measured at about 1.8 s, it would otherwise delay the first
    rollback by that much while users get errors."""
    import jobnaut.app.db
    import jobnaut.app.schema  # noqa: F401


def run(env: Env) -> None:
    """Tick until SIGTERM, or until the pid file names another guard."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    if not process.claim(env.home):
        env.ledger.event(f"guard (pid {os.getpid()}) not started: another guard is recorded")
        return
    guard = Guard(env)
    guard.exporter = MetricsServer(guard.s.metrics_port).start()
    guard.database = DatabaseWatch(
        lambda: env.config_of(env.current_config_id())["DATABASE_URL"],
        guard.s.database_seconds).start()
    guard.probes = ProbeWatch(guard.s.probe_seconds, guard.s.probe_failures,
                              env.home.config.check_timeout).start()
    guard._probe(guard.watch)
    _preload()
    guard.write_state(time.time())
    env.ledger.event(f"guard started (pid {os.getpid()})")
    failures = 0
    while not stopping.is_set():
        started = time.monotonic()
        if process.another_guard(env.home):
            env.ledger.event(f"guard (pid {os.getpid()}) stops: another guard is recorded")
            return
        try:
            guard.tick(time.time())
            failures = 0
        except Exception as exc:  # a bad tick must not end the watch; repeated ones are said
            failures += 1
            if failures in (1, 10, 100):
                env.ledger.event(f"guard: tick failed ({failures}x): "
                                 f"{type(exc).__name__}: {exc}", level="error")
        stopping.wait(max(0.0, guard.s.interval - (time.monotonic() - started)))
    guard.exporter.stop()
    guard.database.stop()
    guard.probes.stop()
    env.ledger.event(f"guard stopped (pid {os.getpid()})")
