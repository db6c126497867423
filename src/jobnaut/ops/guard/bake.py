"""Which release is being watched, against what, and which phase it is in.

A switch is read from the ledger's activation history (every deploy, config release and
rollback records one per service). The bake window starts at the switch; the baseline is
what the previous release served in the `baseline_seconds` just before it. After the bake
window the release is compared with its own figures during the bake (its reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from jobnaut.ops.guard.settings import GuardSettings
from jobnaut.ops.guard.traffic import TrafficWindows
from jobnaut.ops.guard.verdict import Figures, Verdict, judge
from jobnaut.ops.ledger import Activation

# A switch made by one of these returned to an earlier release: the guard watches it and
# alerts, but never rolls a rollback back (that would walk further into the past on its
# own; the operator decides).
RETURNING_KINDS = ("rollback-code", "rollback-migration", "emergency", "return after failure")


@dataclass(frozen=True)
class Switch:
    last_activation: int  # the newest activation id of this switch
    release_id: int
    operation_id: int | None
    at: float  # Unix time the switch was recorded
    operation_kind: str | None
    previous: dict[str, int | None]  # service -> release that served it before

    @property
    def release(self) -> str:
        return f"v{self.release_id}"

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(sorted(self.previous))

    @property
    def returning(self) -> bool:
        """Made by a rollback (a config rollback is told by its operation, see Watch)."""
        return (self.operation_kind or "") in RETURNING_KINDS or bool(
            self.operation_kind and self.operation_kind.startswith("rollback"))


@dataclass
class Watch:
    switch: Switch
    bake_until: float
    returning: bool = False  # the switch returned to earlier code or configuration
    reference: dict[str, Figures] | None = None  # set when the bake window ends
    done: bool = False  # rolled back, superseded or given up: nothing more to do
    alerting: set[str] = field(default_factory=set)  # services with an open alert
    recorded: set[str] = field(default_factory=set)  # skip reasons already on the timeline
    last: str = ""  # the last verdict's evidence, for `status`

    def baking(self, now: float) -> bool:
        return now < self.bake_until


def timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def switches(history: list[Activation], after_id: int) -> list[Switch]:
    """Switches recorded after activation `after_id`, oldest first: the activations of one
    operation for one release form one switch."""
    found: dict[tuple[int, int | None], Switch] = {}
    for index, activation in enumerate(history):
        if activation.id <= after_id:
            continue
        key = (activation.release_id, activation.operation_id)
        before = [a for a in history[:index] if a.service == activation.service]
        previous = before[-1].release_id if before else None
        earlier = found.get(key)
        services = dict(earlier.previous) if earlier else {}
        services[activation.service] = previous
        found[key] = Switch(activation.id, activation.release_id, activation.operation_id,
                            earlier.at if earlier else timestamp(activation.started_at),
                            activation.operation_kind, services)
    return sorted(found.values(), key=lambda s: s.last_activation)


def compare(windows: TrafficWindows, watch: Watch, service: str, now: float,
            s: GuardSettings) -> Verdict:
    """The verdict on `service` now: in the bake window against the previous release's
    baseline, after it against the release's own reference."""
    switch = watch.switch
    start = max(switch.at, now - s.window_seconds)
    new = windows.figures(service, switch.release, start, now + 1)
    if watch.baking(now) or watch.reference is None:
        previous = switch.previous.get(service)
        baseline = (windows.figures(service, f"v{previous}", switch.at - s.baseline_seconds,
                                    switch.at) if previous else None)
    else:
        baseline = watch.reference.get(service)
    return judge(new, baseline, s)


def reference(windows: TrafficWindows, watch: Watch, now: float,
              s: GuardSettings) -> dict[str, Figures]:
    """The release's own figures during its bake window (or, for a guard started later,
    its last `baseline_seconds`): what is normal for it, once it has proved healthy."""
    start = max(watch.switch.at, now - max(s.baseline_seconds, s.bake_seconds))
    return {service: windows.figures(service, watch.switch.release, start, now)
            for service in watch.switch.services}
