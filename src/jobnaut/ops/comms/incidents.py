"""Incidents: what users and the team are told, from the first notice to the root cause.

Every change goes to four places at once — the incident's own updates, the ledger's
timeline, the outbox of notices, and the public status page — so nobody has to remember
any of them during a rollback. Rollbacks call `opened_by_operation` and `operation_ended`;
people use `jobnaut incident …`.
"""

from __future__ import annotations

from jobnaut.ops.comms import notify, sender, statuspage
from jobnaut.ops.comms.clock import in_minutes, now_iso, parse_when
from jobnaut.ops.comms.settings import COMPONENTS, IMPACTS, NotifySettings, load
from jobnaut.ops.comms.store import DRILL_PREFIX, CommsStore, Incident, is_drill
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError

STATES = ("investigating", "identified", "monitoring", "resolved")
MAINTENANCE_STATES = ("scheduled", "in_progress", "completed")
# Who hears about an incident, by its impact: the team always; stakeholders from minor
# on; users (the status page's subscribers and public channels) from major on.
AUDIENCES_BY_IMPACT = {
    "none": ("team",),
    "minor": ("team", "stakeholders"),
    "major": ("team", "stakeholders", "users"),
    "critical": ("team", "stakeholders", "users"),
}
# An incident opened while a drill runs (ledger state "drill", ops/drills/run.py) is a
# drill: its title says so, only the team hears of it, the status page shows no outage.
DRILL_STATE = "drill"


def book(env: Env) -> CommsStore:
    return CommsStore(env.home.ledger_path)


def open_incident(env: Env, *, title: str, impact: str, components: list[str], message: str,
                  eta: str | None = None, kind: str = "incident", author: str = "operator",
                  operation_id: int | None = None) -> Incident:
    _check(impact=impact, components=components)
    if not title.strip() or not message.strip():
        raise OpsError("an incident needs a title and a message", exit_code=2)
    settings = load(env.home)
    state = "in_progress" if kind == "maintenance" else "investigating"
    if env.ledger.get_state(DRILL_STATE) and not title.startswith(DRILL_PREFIX):
        title = DRILL_PREFIX + title.strip()
    store = book(env)
    incident_id = store.add_incident(
        title=title.strip(), kind=kind, state=state, impact=impact, components=components,
        eta=parse_when(eta), next_update_due=_due(settings), operation_id=operation_id)
    store.add_update(incident_id, state=state, impact=impact, message=message.strip(),
                     eta=parse_when(eta), author=author)
    incident = store.incident(incident_id)
    env.ledger.event(f"{kind} #{incident_id} opened ({impact}): {incident.title}",
                     level="error" if impact in ("major", "critical") else "warning",
                     operation_id=operation_id)
    _tell(env, settings, incident, f"{_label(incident)}: {incident.title}", message)
    return incident


def update_incident(env: Env, incident_id: int, *, message: str, state: str | None = None,
                    impact: str | None = None, eta: str | None = None,
                    author: str = "operator") -> Incident:
    incident = _open(env, incident_id)
    new_state = state or incident.state
    new_impact = impact or incident.impact
    allowed = MAINTENANCE_STATES if incident.kind == "maintenance" else STATES
    if new_state not in allowed or new_state in ("resolved", "completed"):
        raise OpsError(f"state must be one of {', '.join(allowed[:-1])}",
                       hint="`jobnaut incident resolve` closes it", exit_code=2)
    _check(impact=new_impact, components=list(incident.components))
    if not message.strip():
        raise OpsError("an update needs a message", exit_code=2)
    settings = load(env.home)
    store = book(env)
    new_eta = parse_when(eta) if eta else incident.eta
    store.update_incident(incident_id, state=new_state, impact=new_impact, eta=new_eta,
                          next_update_due=_due(settings), nudged_at=None)
    store.add_update(incident_id, state=new_state, impact=new_impact, message=message.strip(),
                     eta=new_eta, author=author)
    updated = store.incident(incident_id)
    env.ledger.event(f"{incident.kind} #{incident_id} {new_state}: {message.strip()}")
    _tell(env, settings, updated, f"{_label(updated)}: {updated.title}", message)
    return updated


def acknowledge(env: Env, incident_id: int, who: str) -> Incident:
    incident = _open(env, incident_id)
    if incident.acknowledged_at:
        return incident
    store = book(env)
    store.update_incident(incident_id, acknowledged_at=now_iso(),
                          acknowledged_by=who or "someone")
    env.ledger.event(f"incident #{incident_id} acknowledged by {who or 'someone'}")
    return store.incident(incident_id)


def resolve(env: Env, incident_id: int, *, root_cause: str, message: str | None = None,
            author: str = "operator") -> Incident:
    """Close it. The root cause (or a link to it) is required: the record must be whole."""
    incident = _open(env, incident_id)
    if not root_cause.strip():
        raise OpsError("resolving needs the root cause (or a link to where it is written)",
                       hint="--root-cause \"…\"", exit_code=2)
    settings = load(env.home)
    store = book(env)
    final = "completed" if incident.kind == "maintenance" else "resolved"
    text = (message or "This is resolved; everything works normally.").strip()
    store.update_incident(incident_id, state=final, resolved_at=now_iso(),
                          root_cause=root_cause.strip(), next_update_due=None)
    store.add_update(incident_id, state=final, impact=incident.impact, message=text, eta=None,
                     author=author)
    resolved = store.incident(incident_id)
    env.ledger.event(f"{incident.kind} #{incident_id} {final}; root cause: {root_cause.strip()}")
    _tell(env, settings, resolved, f"Resolved: {resolved.title}", text)
    return resolved


def current(env: Env) -> Incident | None:
    """The open incident a rollback belongs to (the most recent one)."""
    open_ones = [i for i in book(env).incidents(open_only=True) if i.kind == "incident"]
    return open_ones[0] if open_ones else None


# opened and moved by operations ----------------------------------------------------------

def opened_by_operation(env: Env, *, title: str, impact: str, message: str,
                        operation_id: int | None, components: list[str] | None = None,
                        kind: str = "incident", eta_minutes: float | None = None) -> Incident:
    """An emergency, an automatic rollback or a maintenance window opens (or updates) the
    incident itself: no person has to remember it."""
    eta = in_minutes(eta_minutes) if eta_minutes else None
    existing = current(env) if kind == "incident" else None
    if existing is not None:
        raise_to = max(existing.impact, impact, key=IMPACTS.index)
        return update_incident(env, existing.id, message=message, impact=raise_to, eta=eta,
                               state="identified", author="jobnaut")
    return open_incident(env, title=title, impact=impact, components=components or
                         ["api", "web"], message=message, eta=eta, kind=kind,
                         author="jobnaut", operation_id=operation_id)


def operation_ended(env: Env, incident: Incident, *, ok: bool, message: str) -> None:
    """A rollback finished: the incident moves to monitoring (or stays, saying it failed);
    a maintenance window is completed."""
    if not book(env).incident(incident.id).open:
        return
    if incident.kind == "maintenance":
        resolve(env, incident.id, root_cause="planned maintenance", message=message,
                author="jobnaut")
        return
    update_incident(env, incident.id, message=message, author="jobnaut",
                    state="monitoring" if ok else "identified")


# internals ----------------------------------------------------------------------------

def _tell(env: Env, settings: NotifySettings, incident: Incident, subject: str,
          message: str) -> None:
    """Notices to every audience the impact reaches, the status page, and the sender."""
    audiences = ("team", "stakeholders", "users") if incident.kind == "maintenance" else \
        AUDIENCES_BY_IMPACT[incident.impact]
    body = _body(incident, message)
    if is_drill(incident):
        audiences = ("team",)
        body = "THIS IS A DRILL: the fault was injected on purpose.\n\n" + body
    if env.home.config.name == "staging":  # a copy of production: never mistaken for it
        subject = "[staging] " + subject
    for audience in audiences:
        notify.enqueue(env, settings, audience=audience, impact=incident.impact,
                       subject=subject, body=body, incident_id=incident.id)
    statuspage.publish(env)
    sender.kick(env)


def _body(incident: Incident, message: str) -> str:
    lines = [message.strip(), "",
             f"Status: {incident.state} · impact: {incident.impact} · affected: "
             f"{', '.join(COMPONENTS[c] for c in incident.components)}"]
    if incident.eta:
        lines.append(f"Expected restoration: {incident.eta}")
    return "\n".join(lines)


def _label(incident: Incident) -> str:
    if incident.kind == "maintenance":
        return "Maintenance"
    return {"critical": "Major outage", "major": "Outage", "minor": "Degraded",
            "none": "Notice"}[incident.impact]


def _open(env: Env, incident_id: int) -> Incident:
    try:
        incident = book(env).incident(incident_id)
    except KeyError:
        raise OpsError(f"incident #{incident_id} does not exist",
                       hint="`jobnaut incident list`", exit_code=2) from None
    if not incident.open:
        raise OpsError(f"incident #{incident_id} is already {incident.state}", exit_code=2)
    return incident


def _check(*, impact: str, components: list[str]) -> None:
    if impact not in IMPACTS:
        raise OpsError(f"unknown impact {impact!r}", hint=f"one of {', '.join(IMPACTS)}",
                       exit_code=2)
    if not components:
        raise OpsError("name at least one affected component",
                       hint=f"any of {', '.join(COMPONENTS)}", exit_code=2)
    for component in components:
        if component not in COMPONENTS:
            raise OpsError(f"unknown component {component!r}",
                           hint=f"any of {', '.join(COMPONENTS)}", exit_code=2)


def _due(settings: NotifySettings) -> str:
    return in_minutes(settings.update_every_minutes)

