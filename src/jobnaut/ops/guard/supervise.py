"""Process supervision: a serving release's backend or frontend that died is started again,
with backoff, through the same code as `jobnaut up` (under the lock, checked before it
takes traffic). Repeated crashes raise an alert on the timeline. A rolled-back release kept
warm is never restarted, and is stopped when its time is up (ADR 0018)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jobnaut.ops import lock
from jobnaut.ops.actions import rolled_back_warm as rolled_back
from jobnaut.ops.actions import switching
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import driver_for, traffic
from jobnaut.ops.drivers.base import Driver
from jobnaut.ops.environment import SERVICES
from jobnaut.ops.errors import OpsError
from jobnaut.ops.guard.settings import GuardSettings
from jobnaut.ops.ledger import ProcessRecord

MAX_BACKOFF = 30.0


@dataclass
class Supervisor:
    env: Env
    settings: GuardSettings
    restarts: dict[str, list[float]] = field(default_factory=dict)  # service -> times
    next_try: dict[str, float] = field(default_factory=dict)
    alerted_at: dict[str, float] = field(default_factory=dict)
    # The live process last seen alive per service: another command's `status` may have
    # already recorded a dead one as stopped, and the restart must still name it.
    last_alive: dict[str, ProcessRecord] = field(default_factory=dict)

    def runs(self) -> Driver:
        return driver_for(self.env.home)

    def dead_services(self) -> list[str]:
        """Services with no live process alive (the environment being up)."""
        env = self.env
        if env.ledger.active_release() is None or not traffic.switch_running(env.home):
            return []
        dead = []
        for service in SERVICES:
            runs = driver_for(env.home)
            alive = [p for p in switching.live_processes(env, service) if runs.alive(p)]
            if alive:
                self.last_alive[service] = alive[0]
            else:
                dead.append(service)
        return dead

    def tick(self, now: float) -> list[str]:
        """Restart what died, when its backoff allows; returns the services restarted."""
        if not self.settings.restart or lock.holder(self.env.home.lock_path) is not None:
            return []  # an operation moves processes around: never second-guess it
        for moved in traffic.follow_tasks(self.env.home):  # swarm: tasks Swarm moved
            self.env.ledger.event(f"switch follows the tasks: {moved}")
        dead = [s for s in self.dead_services() if now >= self.next_try.get(s, 0.0)]
        if not dead:
            return []
        gone = {s: self.last_alive[s] for s in dead if s in self.last_alive}
        from jobnaut.ops.actions import lifecycle  # lifecycle starts the guard: no import loop

        try:
            with lock.brief():
                lifecycle.up(self.env)
            problem = None
        except OpsError as exc:
            problem = exc.message
        for service in dead:
            self._record(service, gone.get(service), now, problem)
        return dead if problem is None else []

    def retire_expired(self) -> list[str]:
        """Stop the rolled-back release's processes whose time to stay warm is up (ADR
        0018), under the lock; while an operation holds it, the next tick tries again."""
        if not rolled_back.expired(self.env.ledger.running_processes()):
            return []
        try:
            with lock.brief():
                return switching.retire_expired(self.env)
        except OpsError:  # the lock was taken meanwhile
            return []

    def _record(self, service: str, gone: ProcessRecord | None, now: float,
                problem: str | None) -> None:
        window = self.settings.crash_window
        times = [t for t in self.restarts.get(service, []) if t > now - window] + [now]
        self.restarts[service] = times
        self.next_try[service] = now + min(MAX_BACKOFF, 2.0 ** (len(times) - 1))
        pid = gone.pid if gone is not None else "?"
        what = f"{service} (pid {pid} died)"
        if problem is None:
            self.env.ledger.event(f"guard: restarted {what}; restart {len(times)} in the last "
                                  f"{window:.0f} s", level="warning")
        else:
            self.env.ledger.event(f"guard: could not restart {what}: {problem}; next try in "
                                  f"{self.next_try[service] - now:.0f} s", level="error")
        if (len(times) >= self.settings.crash_alert_restarts
                and now - self.alerted_at.get(service, -window) >= window):
            self.alerted_at[service] = now
            self.env.ledger.event(f"guard alert: {service} keeps crashing ({len(times)} "
                                  f"restarts in {window:.0f} s); see `jobnaut logs {service}`",
                                  level="error")

    def counts(self, now: float) -> dict[str, int]:
        window = self.settings.crash_window
        return {s: len([t for t in times if t > now - window])
                for s, times in self.restarts.items()}
