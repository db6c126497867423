"""A code rollback keeps the release it leaves warm for `[rollback] keep_warm_seconds`, so
that going forward again is a switch too (ADR 0018): end to end, with real processes, the
Caddy switch and the guard that stops it when its time is up. Kept warm, it is still never
a default rollback target, never restarted, and `down` stops it."""

from __future__ import annotations

from typing import Any

import pytest

from jobnaut.ops.context import Env
from tests.ops.conftest import Environment
from tests.support.inbox import wait_for


@pytest.fixture(scope="module")
def env(deployed_guarded: Environment) -> Environment:
    return deployed_guarded


def active(env: Environment) -> str:
    return str(env.json("status")["active_release"])


def rollback(env: Environment, *args: str) -> dict[str, str]:
    """Run `rollback code ARGS --yes`; the detail of each of its steps, by name."""
    result = env.json("rollback", "code", *args, "--yes")
    assert result["status"] == "succeeded", result
    steps = Env.open(env.home).ledger.steps(int(result["operation"]))
    return {s["name"]: s["detail"] or "" for s in steps}


def standby(env: Environment) -> list[dict[str, Any]]:
    return list(env.json("status")["services"]["standby"])


def running_of(env: Environment, release: str) -> list[str]:
    """The roles of `release`'s running processes, per the ledger."""
    return [p.role for p in Env.open(env.home).ledger.running_processes()
            if f"v{p.release_id}" == release]


def test_back_then_forward_are_both_switches(env: Environment) -> None:
    first = active(env)
    env.jobnaut("deploy", "main", "--reason", "second")
    second = active(env)

    back = rollback(env)  # to the release the deploy kept warm
    assert "(warm: live and ready;" in back["check"]
    assert f"of {second} kept warm until " in back["retire"], back["retire"]
    assert env.serving_release() == first
    kept = [s for s in standby(env) if s["release"] == second]
    assert {s["service"] for s in kept} == {"backend", "frontend"}
    assert all(s["role"] == "rolled_back" and s["warm_until"] and s["healthy"] for s in kept)
    assert f"{second} rolled back, warm until " in env.jobnaut("status").stdout

    forward = rollback(env, "--to", second)
    assert "(warm: backend, frontend)" in forward["start"]
    assert "(warm: live and ready;" in forward["check"]
    assert f"of {first} kept warm until " in forward["retire"], forward["retire"]
    assert env.serving_release() == second
    assert set(running_of(env, second)) == {"live"}

    # Warm, but rolled back: never a default target (the guard's neither).
    refused = env.jobnaut("rollback", "code", "--yes", check=False)
    assert refused.returncode != 0
    assert "no earlier good release" in refused.stderr + refused.stdout
    assert env.serving_release() == second
    assert set(running_of(env, first)) == {"rolled_back"}


def test_it_is_stopped_when_its_time_is_up_and_never_restarted(env: Environment) -> None:
    env.set_setting("keep_warm_seconds", 15)  # long enough to see it, on a loaded machine
    left = active(env)
    back = rollback(env, "--to", next(s["release"] for s in standby(env)))
    assert f"of {left} kept warm until " in back["retire"]
    # Only one rolled-back release stays warm: the one before became live, none is left.
    assert [s["release"] for s in standby(env)] == [left] * 2

    wait_for(lambda: not running_of(env, left), 60, "the guard to stop the warm release")

    def said_why() -> list[str] | None:  # recorded once both processes have stopped
        messages = [e["message"] for e in Env.open(env.home).ledger.events(200)]
        return messages if any(m.startswith(f"stopped backend of rolled-back {left} ")
                               and m.endswith("its time to stay warm is up")
                               for m in messages) else None

    messages = wait_for(said_why, 30, "the guard to record why it stopped the warm release")
    state = env.json("status")
    assert state["services"]["standby"] == [] and state["problems"] == []
    assert not any("guard: restarted" in m for m in messages)


def test_keep_warm_seconds_0_stops_it_at_once(env: Environment) -> None:
    env.set_setting("keep_warm_seconds", 0)
    left = active(env)
    target = next(r["id"] for r in env.releases() if r["id"] != left)
    back = rollback(env, "--to", target)
    assert "not kept warm: [rollback] keep_warm_seconds = 0" in back["retire"]
    assert not running_of(env, left)


def test_down_stops_it_and_up_does_not_start_it(env: Environment) -> None:
    env.set_setting("keep_warm_seconds", 600)
    left = active(env)
    target = next(r["id"] for r in env.releases() if r["id"] != left)
    rollback(env, "--to", target)
    assert set(running_of(env, left)) == {"rolled_back"}

    env.jobnaut("down")
    assert Env.open(env.home).ledger.running_processes() == []
    env.jobnaut("up")
    assert env.serving_release() == target
    assert standby(env) == [] and not running_of(env, left)
