"""Scheduled maintenance: announced ahead to users and the team, and shown on the status
page (and counted as maintenance, not downtime, in its uptime)."""

from __future__ import annotations

from datetime import UTC, datetime

from jobnaut.ops.comms import notify, sender, statuspage
from jobnaut.ops.comms.clock import parse_time, parse_when
from jobnaut.ops.comms.settings import COMPONENTS, load
from jobnaut.ops.comms.store import CommsStore
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError


def schedule(env: Env, *, start: str, end: str, message: str, components: list[str]) -> int:
    starts, ends = parse_when(start), parse_when(end)
    if starts is None or ends is None:
        raise OpsError("a maintenance window needs a start and an end", exit_code=2)
    if parse_time(ends) <= parse_time(starts):
        raise OpsError("the maintenance window ends before it starts", exit_code=2)
    if parse_time(ends) <= datetime.now(UTC):
        raise OpsError("the maintenance window is already over", exit_code=2)
    unknown = [c for c in components if c not in COMPONENTS]
    if unknown or not components or not message.strip():
        raise OpsError("name the affected components and say what will happen",
                       hint=f"components: {', '.join(COMPONENTS)}", exit_code=2)
    settings = load(env.home)
    window = CommsStore(env.home.ledger_path).add_maintenance(starts, ends, message.strip(),
                                                             components)
    env.ledger.event(f"maintenance #{window} scheduled {starts} → {ends}: {message.strip()}")
    body = (f"{message.strip()}\n\nFrom {starts} to {ends} (UTC). Affected: "
            f"{', '.join(COMPONENTS[c] for c in components)}.")
    for audience in ("team", "stakeholders", "users"):
        notify.enqueue(env, settings, audience=audience, impact="minor",
                       subject="Scheduled maintenance", body=body, incident_id=None)
    statuspage.publish(env)
    sender.kick(env)
    return window
