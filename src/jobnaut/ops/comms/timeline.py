"""One timeline from everything the ledger records: events of every operation, incident
updates, and each notice sent or failed — what `jobnaut timeline` and post-mortems read."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from jobnaut.ops.comms.clock import parse_time
from jobnaut.ops.comms.store import CommsStore, Incident
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError

LEAD_IN = timedelta(minutes=15)  # what happened just before an incident was opened


@dataclass(frozen=True)
class Entry:
    at: str
    source: str  # event | incident | notice
    level: str
    message: str
    operation_id: int | None = None
    incident_id: int | None = None

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def timeline(env: Env, *, incident_id: int | None = None, since: str | None = None,
             limit: int = 500) -> list[Entry]:
    store = CommsStore(env.home.ledger_path)
    start, end = _bounds(store, incident_id, since)
    entries = [Entry(e["at"], "event", e["level"], e["message"], e["operation_id"])
               for e in env.ledger.events(100_000)]
    titles = {}
    for incident in store.incidents(limit=10_000):
        titles[incident.id] = incident.title
    for update in store.updates(incident_id):
        entries.append(Entry(update["at"], "incident", "info",
                             f"#{update['incident_id']} {update['state']} "
                             f"({update['impact']}): {update['message']}",
                             incident_id=update["incident_id"]))
    for notice in store.notices(incident_id=incident_id, limit=100_000):
        if notice.status == "pending" and notice.attempts == 0:
            continue
        outcome = {"sent": "sent", "failed": "FAILED", "pending": "retrying"}[notice.status]
        detail = f": {notice.last_error}" if notice.last_error and notice.status != "sent" else ""
        entries.append(Entry(notice.sent_at or notice.next_attempt_at, "notice",
                             "warning" if notice.status != "sent" else "info",
                             f"notice to {notice.audience} via {notice.channel} {outcome} "
                             f"({notice.attempts} attempt(s)){detail}: {notice.subject}",
                             incident_id=notice.incident_id))
    chosen = [e for e in entries if (start is None or parse_time(e.at) >= start)
              and (end is None or parse_time(e.at) <= end)]
    chosen.sort(key=lambda e: parse_time(e.at))
    return chosen[-limit:]


def _bounds(store: CommsStore, incident_id: int | None,
            since: str | None) -> tuple[datetime | None, datetime | None]:
    start = parse_since(since) if since else None
    if incident_id is None:
        return start, None
    try:
        incident: Incident = store.incident(incident_id)
    except KeyError:
        raise OpsError(f"incident #{incident_id} does not exist",
                       hint="`jobnaut incident list`", exit_code=2) from None
    opened = parse_time(incident.opened_at) - LEAD_IN
    closed = parse_time(incident.resolved_at) + timedelta(minutes=5) if incident.resolved_at \
        else None
    return max(opened, start) if start else opened, closed


def parse_since(text: str) -> datetime:
    """ISO 8601, or a span back from now: 30m, 2h, 7d."""
    value = text.strip()
    units = {"m": 1, "h": 60, "d": 1440}
    if value and value[-1] in units and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(minutes=int(value[:-1]) * units[value[-1]])
    try:
        return parse_time(value)
    except ValueError:
        raise OpsError(f"cannot read {text!r} as a time",
                       hint="ISO 8601, or back from now: 30m, 2h, 7d", exit_code=2) from None

