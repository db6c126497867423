"""When the guard must not roll back (respond.why_not), on a real environment home and
ledger without processes: the reasons are checked in order and each is said plainly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jobnaut.ops.actions import lifecycle
from jobnaut.ops.context import Env
from jobnaut.ops.guard.bake import switches
from jobnaut.ops.guard.respond import why_not
from jobnaut.ops.ledger import Release


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return lifecycle.init(tmp_path / "home", guard=True)


def release(env: Env, n: int) -> Release:
    operation = env.ledger.start_operation("deploy", {"ref": f"r{n}"}, os.getpid())
    made = env.ledger.add_release(ref=f"{n:040d}", requested_ref=f"r{n}", kind="deploy",
                                  config_id=env.current_config_id(), schema_revision="0003",
                                  reason="test", actor="test", operation_id=operation)
    env.ledger.set_active_release(made.id, operation_id=operation, operation_kind="deploy")
    return made


def test_the_guard_waits_for_the_lock_then_the_freeze_then_needs_a_warm_target(
        env: Env) -> None:
    first, second = release(env, 1), release(env, 2)
    switch = switches(env.ledger.activations(), after_id=0)[-1]
    assert switch.release == second.name and switch.previous["backend"] == first.id

    env.home.lock_path.parent.mkdir(parents=True, exist_ok=True)
    env.home.lock_path.write_text(json.dumps({"kind": "deploy", "operation": 7,
                                              "pid": os.getpid()}))
    env.ledger.set_state("deploy_freeze", "emergency: data loss")
    assert why_not(env, switch) == (
        "skipped", "deploy #7 holds the operation lock; waiting for it to finish")

    env.home.lock_path.write_text("")  # the operation ended
    assert why_not(env, switch) == (
        "skipped", "deploys are frozen (emergency: data loss); the operator decides")

    env.ledger.set_state("deploy_freeze", None)
    status, reason = why_not(env, switch) or ("", "")
    assert status == "skipped" and reason.startswith(f"{first.name} is not warm")


def test_a_release_no_longer_active_is_left_alone(env: Env) -> None:
    release(env, 1)
    release(env, 2)
    stale = switches(env.ledger.activations(), after_id=0)[-1]
    release(env, 3)
    assert why_not(env, stale) == ("superseded", "v2 no longer serves")


def test_with_nothing_before_it_there_is_nothing_to_return_to(env: Env) -> None:
    only = release(env, 1)
    switch = switches(env.ledger.activations(), after_id=0)[-1]
    assert why_not(env, switch) == (
        "skipped", f"there is no earlier good release to return to from {only.name}")


def test_a_config_rollback_is_watched_but_never_rolled_back_by_the_guard(env: Env) -> None:
    from jobnaut.ops.guard.loop import Guard

    release(env, 1)
    operation = env.ledger.start_operation("config", {"rollback": True, "reason": "r"},
                                           os.getpid())
    restored = env.ledger.add_release(ref=f"{1:040d}", requested_ref="r1", kind="config",
                                      config_id=env.current_config_id(), schema_revision="0003",
                                      reason="rollback config", actor="guard",
                                      operation_id=operation)
    env.ledger.set_active_release(restored.id, operation_id=operation, operation_kind="config")
    guard = Guard(env)  # follows the newest switch at start
    assert guard.watch is not None and guard.watch.switch.release == restored.name
    assert guard.watch.returning and not guard.watch.switch.returning
