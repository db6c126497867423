"""Where operations tell people, so that nobody has to remember it: an emergency opens a
critical incident, a maintenance window opens a maintenance notice, and a finished
rollback moves the incident to monitoring.

Telling people must never stop a rollback: every hook records its own failure on the
timeline and returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jobnaut.ops.comms import incidents
from jobnaut.ops.context import Env

ROLLBACK_KINDS = ("rollback-code", "rollback-migration", "rollback-emergency")


def safely(env: Env, what: str, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except Exception as exc:  # a notice that cannot be written is recorded, never raised
        env.ledger.event(f"could not {what}: {type(exc).__name__}: {str(exc)[:200]}",
                         level="warning")
        return None


def emergency_started(env: Env, operation_id: int, reason: str) -> None:
    safely(env, "open the emergency's incident", lambda: incidents.opened_by_operation(
        env, title="JobNaut is being restored after a bad release", impact="critical",
        message=f"We found a serious problem ({reason}) and are restoring the last good "
                "version of JobNaut now. Your data is safe.",
        operation_id=operation_id, components=["api", "web"], eta_minutes=15))


def rollback_started(env: Env, operation_id: int, *, title: str, impact: str,
                     message: str, components: list[str] | None = None) -> None:
    """A rollback decided by JobNaut itself (the guard) opens or raises the incident."""
    safely(env, "open the rollback's incident", lambda: incidents.opened_by_operation(
        env, title=title, impact=impact, message=message, operation_id=operation_id,
        components=components, eta_minutes=5))


def maintenance_started(env: Env, operation_id: int, message: str) -> int | None:
    """A maintenance notice for the window, unless an open incident already covers it
    (an emergency that undoes a migration)."""
    if safely(env, "find the open incident", lambda: incidents.current(env)) is not None:
        return None
    opened = safely(env, "announce the maintenance", lambda: incidents.opened_by_operation(
        env, title="Maintenance in progress", impact="major", kind="maintenance",
        message=message, operation_id=operation_id, components=["api", "web"],
        eta_minutes=5))
    return opened.id if opened is not None else None


def operation_finished(env: Env, kind: str, operation_id: int, ctx: dict[str, Any],
                       ok: bool, error: str | None) -> None:
    """A maintenance window ends with its operation; a rollback moves the open incident
    to monitoring (or says it failed)."""
    maintenance_id = ctx.get("maintenance_incident")
    if maintenance_id is not None and ok:
        safely(env, "close the maintenance notice", lambda: incidents.operation_ended(
            env, incidents.book(env).incident(int(maintenance_id)), ok=True,
            message="Maintenance is over; JobNaut works normally."))
    if kind not in ROLLBACK_KINDS and not (kind == "config" and ctx.get("rollback")):
        return
    current = safely(env, "find the open incident", lambda: incidents.current(env))
    if current is None:
        return
    target = env.ledger.release(int(ctx["release_id"])).name if ctx.get("release_id") else "?"
    message = (f"The previous version ({target}) is serving again and verified; we are "
               "watching it closely." if ok else
               f"Restoring the previous version did not complete ({error}); we are on it.")
    safely(env, "update the incident", lambda: incidents.operation_ended(
        env, current, ok=ok, message=message))
