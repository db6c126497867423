"""Acting on a breach: roll the release back through the same operation engine, lock and
ledger as `jobnaut rollback`, or record why not.

The guard never fights an operator: it does not act while an operation holds the lock,
while deploys are frozen for an emergency, or when the release to return to is not warm
(running out of traffic, checked when it served); each such skip goes on the timeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from jobnaut.ops import lock, operation
from jobnaut.ops.actions.rollback import CODE_ROLLBACK, CONFIG_RELEASE
from jobnaut.ops.comms import hooks
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import driver_for
from jobnaut.ops.environment import SERVICES
from jobnaut.ops.errors import OpsError
from jobnaut.ops.guard.bake import Switch
from jobnaut.ops.guard.verdict import Verdict
from jobnaut.ops.history import previous_good_or_none
from jobnaut.ops.ledger import Release


@dataclass(frozen=True)
class Outcome:
    status: str  # rolled_back | skipped | failed | superseded
    detail: str

    @property
    def final(self) -> bool:
        """Whether the guard is done with this release (a skip is retried)."""
        return self.status != "skipped"


def why_not(env: Env, switch: Switch) -> tuple[str, str] | None:
    """(status, reason) when the guard must not roll back now; None when it may."""
    holder = lock.holder(env.home.lock_path)
    if holder is not None:
        return "skipped", (f"{holder.get('kind', '?')} #{holder.get('operation', '?')} holds "
                           "the operation lock; waiting for it to finish")
    freeze = env.ledger.get_state("deploy_freeze")
    if freeze:
        return "skipped", f"deploys are frozen ({freeze}); the operator decides"
    active = env.ledger.active_release()
    if active is None or active.id != switch.release_id:
        return "superseded", f"{switch.release} no longer serves"
    target = previous_good_or_none(env, active)
    if target is None:
        return "skipped", f"there is no earlier good release to return to from {active.name}"
    if not warm(env, target):
        return "skipped", f"{target.name} is not warm (its processes are not running out of " \
                          "traffic): a cold rollback is the operator's call"
    return None


def warm(env: Env, release: Release) -> bool:
    """Every service of `release` has a live process standing by, out of traffic."""
    runs = driver_for(env.home)
    standing = {p.service for p in env.ledger.running_processes()
                if p.release_id == release.id and p.role == "warm" and runs.alive(p)}
    return standing >= set(SERVICES)


def roll_back(env: Env, switch: Switch, verdict: Verdict, service: str) -> Outcome:
    refusal = why_not(env, switch)
    if refusal is not None:
        return Outcome(*refusal)
    active = env.ledger.active_release()
    assert active is not None  # why_not checked it
    target = previous_good_or_none(env, active)
    assert target is not None
    evidence = f"{service} {verdict.evidence}"
    env.ledger.event(f"guard: {active.name} breached its bake window: {evidence}; rolling "
                     f"back to {target.name}", level="error")
    env.ledger.set_state(f"guard_verdict:{active.id}", json.dumps(
        {"release": active.name, "service": service, "rule": verdict.rule,
         "evidence": verdict.evidence, "target": target.name}))
    hooks.rollback_started(
        env, None, title=f"Errors after release {active.name}",
        impact="major" if verdict.rule == "5xx" else "minor",
        components=["api"] if service == "backend" else ["web"],
        message=f"JobNaut noticed a problem with the new version ({evidence}) and is "
                f"putting the previous version back now.")
    try:
        if active.kind == "config":
            result = operation.execute(env, CONFIG_RELEASE, {
                "config_id": target.config_id, "rollback": True, "actor": "guard",
                "reason": f"guard: rollback config to {target.name}'s snapshot: {evidence}"})
        else:
            result = operation.execute(env, CODE_ROLLBACK, {
                "to": target.name, "services": list(SERVICES), "actor": "guard",
                "reason": f"guard: {evidence}"})
    except OpsError as exc:  # refused before any step ran (the lock was taken meanwhile)
        return Outcome("skipped", exc.message)
    if not result.ok:
        env.ledger.event(f"guard: the rollback of {active.name} failed: {result.error}",
                         level="error")
        return Outcome("failed", result.error or "?")
    env.ledger.event(f"guard: {active.name} rolled back to {target.name} (operation "
                     f"#{result.operation_id}): {evidence}", level="warning")
    return Outcome("rolled_back", f"{target.name} serving; {evidence}")

