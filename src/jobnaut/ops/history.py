"""Which release to go back to, read from what actually served.

Release numbers say nothing about what served: a config release reuses old code, an
emergency returns to v1 and the next deploy is v9. So the target of a default rollback is
taken from the activation history: the release that served before the current one took
traffic, skipping any release that was itself rolled back or failed — those stopped serving
because something was wrong, and must never be put back by default.
"""

from __future__ import annotations

from typing import Any

from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import Release

NEVER_TARGETS = ("rolled_back", "failed", "pending")


def previous_good(env: Env, current: Release, service: str = "backend") -> Release:
    """The newest release that served `service` before `current` last took it, and was not
    rolled back or failed since."""
    found = previous_good_or_none(env, current, service)
    if found is None:
        raise OpsError(f"there is no earlier good release that served traffic before "
                       f"{current.name}",
                       hint="`jobnaut releases` lists them; `--to vN` picks one explicitly")
    return found


def previous_good_or_none(env: Env, current: Release, service: str = "backend") -> Release | None:
    history = env.ledger.activations(service)
    last_of_current = max((i for i, a in enumerate(history) if a.release_id == current.id),
                          default=len(history))
    for activation in reversed(history[:last_of_current]):
        if activation.release_id == current.id:
            continue
        release = env.ledger.release(activation.release_id)
        if release.status not in NEVER_TARGETS:
            return release
    return None


def warn_if_bad_target(target: Release) -> str | None:
    """An explicit `--to` may name a rolled-back release (the operator knows best), but
    says so."""
    if target.status in NEVER_TARGETS:
        return f"{target.name} was {target.status.replace('_', ' ')}"
    return None


ROLLBACK_KINDS = ("rollback-code", "rollback-migration", "rollback-emergency")


def rollbacks(env: Env) -> list[dict[str, Any]]:
    """Every rollback that finished, newest first: from which release to which, when, by whom
    and why (the `Rollback to v1` entries of `jobnaut releases`)."""
    found = []
    for op in env.ledger.operations(limit=100_000):
        is_rollback = op.kind in ROLLBACK_KINDS or (op.kind == "config"
                                                    and bool(op.args.get("rollback")))
        if not is_rollback or op.status != "succeeded" or "from_release" not in op.context:
            continue
        found.append({"operation": op.id, "kind": op.kind,
                      "from": f"v{op.context['from_release']}",
                      "to": f"v{op.context['release_id']}",
                      "at": op.finished_at or op.started_at,
                      "by": op.args.get("actor") or "operator",
                      "reason": op.args.get("reason") or ""})
    return found


def release_list(env: Env) -> list[dict[str, Any]]:
    """Every release, newest first, with its rollback readiness and, for a release that was
    rolled back, the rollback that ended it (`jobnaut releases`)."""
    ended_by = {}
    for rollback in reversed(rollbacks(env)):  # oldest first: the last one that left it wins
        ended_by[rollback["from"]] = rollback
    return [{**r.as_json(), "rollback_ready": env.ledger.rollback_verdict(r.id),
             "rolled_back": ended_by.get(r.name) if r.status == "rolled_back" else None}
            for r in reversed(env.ledger.releases())]
