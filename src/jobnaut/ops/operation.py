"""Operations as ordered lists of named steps. The same list drives the dry-run output,
the execution, the ledger records and the timeline.

Steps are idempotent and keep what later steps need in `run.ctx`, which is saved to the
ledger after every step: an operation killed at any point resumes from the first step that
did not finish (`--resume`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jobnaut.ops import lock
from jobnaut.ops.comms import hooks
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import OperationRecord


@dataclass
class Run:
    env: Env
    operation_id: int
    ctx: dict[str, Any]

    def save(self) -> None:
        self.env.ledger.update_operation(self.operation_id, context=self.ctx)

    def event(self, message: str, level: str = "info") -> None:
        self.env.ledger.event(message, level=level, operation_id=self.operation_id)


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    action: Callable[[Run], str | None]


@dataclass
class StepResult:
    name: str
    status: str  # succeeded | failed | skipped
    detail: str | None


@dataclass
class OperationResult:
    operation_id: int
    kind: str
    status: str
    steps: list[StepResult] = field(default_factory=list)
    error: str | None = None
    hint: str | None = None
    ctx: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def as_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation_id, "kind": self.kind, "status": self.status,
            "error": self.error, "hint": self.hint,
            "steps": [s.__dict__ for s in self.steps],
            "release": self.ctx.get("release_id") and f"v{self.ctx['release_id']}",
        }


Reporter = Callable[[int, Step, str, str | None], None]


def _quiet(position: int, step: Step, status: str, detail: str | None) -> None:
    return None


@dataclass
class Procedure:
    """One kind of operation: how to plan it, and how to leave a clear state on failure."""

    kind: str
    plan: Callable[[Env, dict[str, Any], dict[str, Any]], list[Step]]
    on_failure: Callable[[Run, Exception], None] | None = None


def interrupted_operation(env: Env) -> OperationRecord | None:
    """The last operation if it was left running by a process that is gone."""
    operations = env.ledger.operations(limit=1)
    if not operations or operations[0].status != "running":
        return None
    if lock.holder(env.home.lock_path) is not None:
        return None
    return operations[0]


def _stranded(env: Env) -> OperationRecord | None:
    """With the lock held, any operation still marked running was interrupted. Whatever it
    left running (a child still migrating) is killed and its scratch copies dropped before
    anyone goes on; from here on this process records its own children."""
    from jobnaut.ops import leftovers

    leftovers.record_children(env)
    operations = env.ledger.operations(limit=1)
    stranded = operations[0] if operations and operations[0].status == "running" else None
    if stranded is not None:
        leftovers.clear_interrupted(env, stranded)
    return stranded


def abandon(env: Env) -> OperationRecord:
    """Give up an interrupted operation (after the operator has looked at it): its
    survivors and scratch copies go, its release's candidate processes stop and a release
    that never took traffic is marked failed (the timeline lists each)."""
    from jobnaut.ops import leftovers

    with lock.operation_lock(env.home.lock_path, {"kind": "abandon", "operation": "-"}):
        stranded = _stranded(env)
        if stranded is None:
            raise OpsError("no interrupted operation to abandon", exit_code=2)
        leftovers.clear_abandoned(env, stranded)
        env.ledger.update_operation(stranded.id, status="interrupted",
                                    error="abandoned by the operator")
        env.ledger.event(f"{stranded.kind} #{stranded.id} abandoned", level="warning",
                         operation_id=stranded.id)
        return stranded


def execute(
    env: Env,
    procedure: Procedure,
    args: dict[str, Any],
    *,
    resume: bool = False,
    reporter: Reporter = _quiet,
) -> OperationResult:
    holder_info: dict[str, object] = {"kind": procedure.kind, "operation": "new"}
    with lock.operation_lock(env.home.lock_path, holder_info):
        # Checked under the lock, so that nothing can change between the check and the act.
        stranded = _stranded(env)
        if resume and (stranded is None or stranded.kind != procedure.kind):
            raise OpsError(f"there is no interrupted {procedure.kind} to resume",
                           hint="`jobnaut status` shows the last operation")
        if not resume and stranded is not None:
            raise OpsError(
                f"{stranded.kind} #{stranded.id} was interrupted and is unfinished",
                hint="`jobnaut status` shows where it stopped; continue it with --resume on "
                     "the same command, or give it up with `jobnaut abandon`")
        freeze = env.ledger.get_state("deploy_freeze")
        if freeze and procedure.kind in ("deploy", "config"):
            raise OpsError(f"deploys are frozen: {freeze}",
                           hint="an emergency is in progress; lift it with "
                                "`jobnaut freeze --lift --reason …` (the fix or the root cause)")
        steps: list[Step] | None = None
        if stranded is not None:
            operation_id, args, ctx = stranded.id, stranded.args, dict(stranded.context)
            env.ledger.update_operation(operation_id, status="running", pid=os.getpid())
            env.ledger.event(f"{procedure.kind} #{operation_id} resumed", operation_id=operation_id)
            done = {s["position"] for s in env.ledger.steps(operation_id)
                    if s["status"] == "succeeded"}
        else:
            # Planned before anything is recorded: a plan that cannot be made (a release
            # that does not exist, nothing to roll back) is a plain refusal, not a failure.
            steps = procedure.plan(env, args, {})
            ctx, done = {}, set()
            operation_id = env.ledger.start_operation(procedure.kind, args, os.getpid())
            env.ledger.event(f"{procedure.kind} #{operation_id} started ({_describe(args)})",
                             operation_id=operation_id)
        _write_holder(env, procedure.kind, operation_id)
        run = Run(env=env, operation_id=operation_id, ctx=ctx)
        return _run_steps(run, procedure, args, done, reporter, steps)


def _write_holder(env: Env, kind: str, operation_id: int) -> None:
    import json

    from jobnaut.ops.ledger import now

    with env.home.lock_path.open("r+") as handle:
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"kind": kind, "operation": operation_id, "pid": os.getpid(),
                                 "started_at": now()}))


def _describe(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in args.items() if v not in (None, False, ""))


def _run_steps(run: Run, procedure: Procedure, args: dict[str, Any], done: set[int],
               reporter: Reporter, steps: list[Step] | None) -> OperationResult:
    ledger = run.env.ledger
    result = OperationResult(run.operation_id, procedure.kind, "running", ctx=run.ctx)
    try:
        if steps is None:
            steps = procedure.plan(run.env, args, run.ctx)
        for position, step in enumerate(steps, start=1):
            if position in done:
                result.steps.append(StepResult(step.name, "skipped", "done before resume"))
                reporter(position, step, "skipped", "done before resume")
                continue
            ledger.step_started(run.operation_id, position, step.name)
            reporter(position, step, "running", None)
            _failpoint("before", step.name)
            try:
                detail = step.action(run)
            except Exception as exc:
                message = _message(exc)
                ledger.step_finished(run.operation_id, position, "failed", message)
                reporter(position, step, "failed", message)
                result.steps.append(StepResult(step.name, "failed", message))
                raise
            _failpoint("after", step.name)
            run.save()
            ledger.step_finished(run.operation_id, position, "succeeded", detail)
            reporter(position, step, "succeeded", detail)
            result.steps.append(StepResult(step.name, "succeeded", detail))
    except Exception as exc:
        message = _message(exc)
        result.status, result.error = "failed", message
        result.hint = exc.hint if isinstance(exc, OpsError) else None
        run.event(f"{procedure.kind} #{run.operation_id} failed: {message}", level="error")
        if procedure.on_failure is not None:
            try:
                procedure.on_failure(run, exc)
            except Exception as cleanup_error:  # the original failure is what matters most
                run.event(f"cleanup after failure also failed: {cleanup_error}", level="error")
        run.save()
        ledger.update_operation(run.operation_id, status="failed", error=message)
        hooks.operation_finished(run.env, procedure.kind, run.operation_id, run.ctx, False,
                                 message)
        return result
    result.status = "succeeded"
    ledger.update_operation(run.operation_id, status="succeeded")
    run.event(f"{procedure.kind} #{run.operation_id} succeeded")
    hooks.operation_finished(run.env, procedure.kind, run.operation_id, run.ctx, True, None)
    return result


FAILPOINT_VARIABLE = "JOBNAUT_FAILPOINT"


def _failpoint(when: str, step_name: str) -> None:
    """Crash tests: `JOBNAUT_FAILPOINT=after:migrate` kills this process with SIGKILL once
    that step's work is done but before the ledger records it (the worst moment), and
    `before:NAME` as the step starts. Like etcd's gofail: the real code path, a real
    kill, no mock."""
    wanted = os.environ.get(FAILPOINT_VARIABLE)
    if wanted and wanted == f"{when}:{step_name}":
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


@lock.locked_action("plan (dry run)")
def plan_only(env: Env, procedure: Procedure, args: dict[str, Any]) -> list[Step]:
    """The numbered plan `--dry-run` prints; planning reads state and changes nothing."""
    return procedure.plan(env, args, {})


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, OpsError) else f"{type(exc).__name__}: {exc}"
