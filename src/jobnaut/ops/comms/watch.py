"""Watching open incidents: escalate what nobody acknowledged in time, nudge the team when
the next public update is overdue (run by the sender's loop)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobnaut.ops.comms import notify
from jobnaut.ops.comms.clock import now_iso
from jobnaut.ops.comms.settings import NotifySettings
from jobnaut.ops.comms.store import CommsStore
from jobnaut.ops.context import Env


def book(env: Env) -> CommsStore:
    return CommsStore(env.home.ledger_path)


def watch(env: Env, settings: NotifySettings) -> None:
    """Escalate what nobody acknowledged in time; nudge the team when an update is due."""
    store = book(env)
    at = datetime.now(UTC)
    for incident in store.incidents(open_only=True):
        opened = datetime.fromisoformat(incident.opened_at)
        if (incident.kind == "incident" and incident.acknowledged_at is None
                and incident.escalated_at is None
                and at - opened >= timedelta(minutes=settings.escalate_after_minutes)):
            store.update_incident(incident.id, escalated_at=now_iso())
            minutes = settings.escalate_after_minutes
            text = (f"Incident #{incident.id} ({incident.impact}) has not been acknowledged "
                    f"within {minutes:g} minutes: {incident.title}. Acknowledge it with "
                    f"`jobnaut incident ack {incident.id}`.")
            env.ledger.event(f"incident #{incident.id} escalated: not acknowledged within "
                             f"{minutes:g} minutes", level="warning")
            notify.enqueue(env, settings, audience="escalation", impact=incident.impact,
                           subject=f"ESCALATION: {incident.title}", body=text,
                           incident_id=incident.id)
        due = incident.next_update_due
        if due and incident.nudged_at is None and at >= datetime.fromisoformat(due):
            store.update_incident(incident.id, nudged_at=now_iso())
            env.ledger.event(f"incident #{incident.id}: the next public update is overdue",
                             level="warning")
            notify.enqueue(env, settings, audience="team", impact=incident.impact,
                           subject=f"Update overdue: {incident.title}",
                           body=f"Users were promised an update on incident #{incident.id} by "
                                f"{due}. Post one with `jobnaut incident update {incident.id}`.",
                           incident_id=incident.id)


def needs_watching(env: Env, settings: NotifySettings) -> bool:
    """Whether an open incident may still need an escalation or a nudge (which only
    matters when there is a channel to send it through)."""
    if not book(env).channels():
        return False
    for incident in book(env).incidents(open_only=True):
        if incident.kind == "incident" and not incident.acknowledged_at and \
                not incident.escalated_at:
            return True
        if incident.next_update_due and not incident.nudged_at:
            return True
    return False
