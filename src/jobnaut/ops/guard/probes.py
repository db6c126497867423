"""Probes of the external integrations (Appendix C) during a bake window: a configuration
release that breaks the job feed sends no user request to it, so no error shows in the
traffic figures; only probing finds it.

A thread of the guard probes every `probe_seconds` with the configuration of the release
being watched and, as a control in the same round, with the configuration of the release
before it. A breach needs `probe_failures` failures in a row of a probe that passes with
the previous configuration: an integration down for everyone (the provider's outage) is
not the release's fault and never rolls it back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from jobnaut.ops import checks
from jobnaut.ops.guard.verdict import Verdict

Config = dict[str, str]


@dataclass
class Target:
    release: str  # "vN", the release watched
    previous: str  # the release before it (the control)
    config: Callable[[], Config]
    previous_config: Callable[[], Config]
    streaks: dict[str, int] = field(default_factory=dict)  # probe -> failures in a row
    last: dict[str, str] = field(default_factory=dict)  # probe -> last failure detail


class ProbeWatch:
    def __init__(self, every: float, failures: int, timeout: float):
        self.every, self.failures, self.timeout = every, failures, timeout
        self._target: Target | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="probes")

    def start(self) -> ProbeWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.timeout * 2 + 2)

    def watch(self, target: Target | None) -> None:
        """Probe this release from now on (None: probe nothing)."""
        with self._lock:
            self._target = target

    def verdict(self, release: str) -> Verdict | None:
        """A breach of `release`, or None."""
        with self._lock:
            target = self._target
            if target is None or target.release != release:
                return None
            for name, streak in sorted(target.streaks.items()):
                if streak >= self.failures:
                    return Verdict(True, f"probe {name} failed {streak} times in a row "
                                         f"({target.last[name]}); it passes with "
                                         f"{target.previous}'s configuration", "probe")
        return None

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            with self._lock:
                target = self._target
            if target is not None:
                self.probe(target)

    def probe(self, target: Target) -> None:
        """One round: the watched configuration and the control, probe by probe."""
        try:
            found = {c.name: c for c in checks.integrations(target.config(), self.timeout)}
            control = {c.name: c for c in checks.integrations(target.previous_config(),
                                                              self.timeout)}
        except Exception:  # a configuration that cannot be read is not a probe's verdict
            return
        with self._lock:
            for name, outcome in found.items():
                if outcome.ok or not control.get(name, outcome).ok:
                    target.streaks[name] = 0
                    continue
                target.streaks[name] = target.streaks.get(name, 0) + 1
                target.last[name] = outcome.detail
