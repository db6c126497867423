"""The plan's Emergency Rollback Procedure: freeze deploys, revert to the last known good
release (code, and schema when it differs), verify every critical flow and the data, and
leave a record for the people who must be told."""

from __future__ import annotations

import time
from typing import Any

from jobnaut.ops import checks, lock
from jobnaut.ops.actions import database, release_env, rollback
from jobnaut.ops.comms import hooks
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError
from jobnaut.ops.history import previous_good
from jobnaut.ops.operation import Procedure, Run, Step


@lock.locked_action("freeze")
def freeze(env: Env, reason: str) -> None:
    env.ledger.set_state("deploy_freeze", reason)
    env.ledger.event(f"deploys frozen: {reason}", level="warning")


@lock.locked_action("freeze --lift")
def lift_freeze(env: Env, why: str) -> str:
    """Deploys may resume; `why` (the fix or the root cause) is recorded."""
    if not why.strip():
        raise OpsError("lifting the freeze needs a reason: the fix or the root cause",
                       exit_code=2)
    frozen_for = env.ledger.get_state("deploy_freeze")
    if frozen_for is None:
        return "deploys were not frozen"
    env.ledger.set_state("deploy_freeze", None)
    env.ledger.event(f"deploy freeze lifted: {why.strip()} (it was: {frozen_for})")
    return f"freeze lifted (it was: {frozen_for}); recorded: {why.strip()}"


def _inner(env: Env, args: dict[str, Any], ctx: dict[str, Any]) -> Procedure:
    if "inner" in ctx:
        return database.MIGRATION_ROLLBACK if ctx["inner"] == "migration" else \
            rollback.CODE_ROLLBACK
    active = env.require_active()
    target = env.find_release(args["to"]) if args.get("to") else \
        previous_good(env, active)
    schema_differs = release_env.database_revision(env, active) != target.schema_revision
    if schema_differs or args.get("restore_db"):
        return database.MIGRATION_ROLLBACK
    return rollback.CODE_ROLLBACK


def plan_emergency(env: Env, args: dict[str, Any], ctx: dict[str, Any]) -> list[Step]:
    inner = _inner(env, args, ctx)
    kind = "migration" if inner is database.MIGRATION_ROLLBACK else "code"
    reason = args.get("reason") or "emergency rollback"

    def immediate(run: Run) -> str:
        run.ctx["inner"] = kind
        freeze(env, f"emergency #{run.operation_id}: {reason}")
        run.event(f"EMERGENCY: {reason}. Deploys are frozen until "
                  "`jobnaut freeze --lift --reason …`", "error")
        hooks.emergency_started(env, run.operation_id, reason)
        return ("deploys frozen; critical incident opened, the team, stakeholders and users "
                "notified, status page updated (`jobnaut incident list`, `jobnaut timeline`)")

    def stability(run: Run) -> str:
        # The plan's "confirm system stability": the whole Appendix C checklist, three
        # times a few seconds apart ([timeouts] stability), must pass every time.
        config = env.config_of(env.current_config_id())
        for round_number in range(1, 4):
            results = checks.appendix_c(env.home, config)
            if checks.failures(results):
                raise OpsError(f"not stable (round {round_number}): {checks.summary(results)}")
            if round_number < 3:
                time.sleep(env.home.config.stability_interval)
        return f"Appendix C passed 3 times ({len(results)} checks each)"

    def communicate(run: Run) -> str:
        active = env.ledger.active_release()
        message = (f"JobNaut restored to {active.name if active else '?'} after: {reason}. "
                   "Deploys stay frozen until the root cause is understood.")
        run.event(message, "warning")
        return message

    return [
        Step("immediate action", "freeze deploys, open a critical incident and notify "
                                 "everyone", immediate),
        *inner.plan(env, {**args, "yes": args.get("yes")}, ctx),
        Step("stability", "test all critical user flows and the data, three times", stability),
        Step("communication", "record the outcome; the incident moves to monitoring",
             communicate),
    ]


def on_emergency_failure(run: Run, error: Exception) -> None:
    inner = database.MIGRATION_ROLLBACK if run.ctx.get("inner") == "migration" else \
        rollback.CODE_ROLLBACK
    if inner.on_failure is not None:
        inner.on_failure(run, error)
    run.event("emergency rollback did not complete; deploys stay frozen", "error")


EMERGENCY = Procedure("rollback-emergency", plan_emergency, on_emergency_failure)
