"""The post-mortem draft of an incident, built from the record: its times, the requests
that failed (the traffic switch's access log), the full timeline, what was rolled back,
the backups taken, and the plan's post-rollback actions as a checklist."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path

from jobnaut.ops.backups.store import list_backups
from jobnaut.ops.comms import timeline
from jobnaut.ops.comms.clock import parse_time
from jobnaut.ops.comms.settings import COMPONENTS
from jobnaut.ops.comms.store import CommsStore, Incident
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import OperationRecord

ROLLBACK_KINDS = ("rollback-code", "rollback-migration", "rollback-emergency")
CHECKLIST = (
    "Root cause identified and written down",
    "Fix developed",
    "Tests added that fail without the fix",
    "Fix verified on staging",
    "Re-deployed to production (`jobnaut deploy`), deploy freeze lifted with the fix as reason",
    "Rollback plan updated with what this incident taught",
)


@dataclass
class Report:
    title: str
    sections: list[tuple[str, list[str]]] = field(default_factory=list)

    def markdown(self) -> str:
        parts = [f"# {self.title}", ""]
        for heading, lines in self.sections:
            parts += [f"## {heading}", "", *lines, ""]
        return "\n".join(parts)

    def html(self) -> str:
        body = [f"<h1>{escape(self.title)}</h1>"]
        for heading, lines in self.sections:
            body.append(f"<h2>{escape(heading)}</h2><ul>")
            body += [f"<li>{escape(line.removeprefix('- '))}</li>" for line in lines if line]
            body.append("</ul>")
        return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{escape(self.title)}</title></head><body>{''.join(body)}</body></html>\n")


def report(env: Env, incident_id: int) -> Report:
    store = CommsStore(env.home.ledger_path)
    try:
        incident = store.incident(incident_id)
    except KeyError:
        raise OpsError(f"incident #{incident_id} does not exist",
                       hint="`jobnaut incident list`", exit_code=2) from None
    opened = parse_time(incident.opened_at)
    closed = parse_time(incident.resolved_at) if incident.resolved_at else None
    operations = _operations_during(env, incident)
    restored = _restored_at(operations)
    detected_from = _bad_release_served_from(env, operations)
    failed = _failed_requests(env.home.logs / "access.log", detected_from or opened,
                              restored or closed)
    draft = Report(f"Post-mortem: incident #{incident.id} — {incident.title}")
    draft.sections.append(("Summary", [
        f"- Impact: {incident.impact}; affected: "
        f"{', '.join(COMPONENTS[c] for c in incident.components)}",
        f"- State: {incident.state}" + (f"; root cause: {incident.root_cause}"
                                         if incident.root_cause else ""),
        f"- Opened {incident.opened_at}" + (f", resolved {incident.resolved_at}"
                                           if incident.resolved_at else " (still open)"),
    ]))
    draft.sections.append(("Times", [
        f"- Time to detect: {_span(detected_from, opened)} (from the bad release taking "
        "traffic to the incident)" if detected_from else
        "- Time to detect: unknown (no rollback linked to this incident)",
        f"- Time to restore (MTTR): {_span(opened, restored)} (incident to rollback finished)"
        if restored else "- Time to restore: not restored by a rollback",
        f"- Time to resolve: {_span(opened, closed)}" if closed else
        "- Time to resolve: still open",
    ]))
    draft.sections.append(("Impact", [
        f"- Requests answered with a server error (5xx) through the traffic switch while the "
        f"bad release served: {failed[0]} of {failed[1]}",
        f"- Duration: {_span(detected_from or opened, restored or closed)}",
    ]))
    draft.sections.append(("What was rolled back", _rolled_back(env, operations) or
                           ["- Nothing was rolled back during this incident"]))
    draft.sections.append(("Data safety", _backups(env, opened, closed) or
                           ["- No backup was taken during this incident"]))
    draft.sections.append(("Timeline", [
        f"- {entry.at} [{entry.source}] {entry.message}"
        for entry in timeline.timeline(env, incident_id=incident.id)]))
    draft.sections.append(("Post-rollback actions", [f"- [ ] {item}" for item in CHECKLIST]))
    return draft


def write(env: Env, incident_id: int, directory: Path | None = None) -> tuple[Path, Path]:
    draft = report(env, incident_id)
    out = directory or env.home.root / "reports"
    out.mkdir(parents=True, exist_ok=True)
    markdown, html = out / f"incident-{incident_id}.md", out / f"incident-{incident_id}.html"
    markdown.write_text(draft.markdown())
    html.write_text(draft.html())
    return markdown, html


def _operations_during(env: Env, incident: Incident) -> list[OperationRecord]:
    opened = parse_time(incident.opened_at)
    closed = parse_time(incident.resolved_at) if incident.resolved_at else None
    chosen = []
    for record in env.ledger.operations(1000):
        started = parse_time(record.started_at)
        linked = record.id == incident.operation_id
        inside = started >= opened - timeline.LEAD_IN and (closed is None or started <= closed)
        is_rollback = record.kind in ROLLBACK_KINDS or (record.kind == "config"
                                                        and record.args.get("rollback"))
        if is_rollback and (linked or inside):
            chosen.append(record)
    return sorted(chosen, key=lambda r: r.id)


def _restored_at(operations: list[OperationRecord]) -> datetime | None:
    done = [r for r in operations if r.status == "succeeded" and r.finished_at]
    return parse_time(done[0].finished_at) if done and done[0].finished_at else None


def _bad_release_served_from(env: Env, operations: list[OperationRecord]) -> datetime | None:
    """When the release the first rollback left started to serve."""
    for record in operations:
        left = record.context.get("from_release")
        if left is None:
            continue
        starts = [a.started_at for a in env.ledger.activations() if a.release_id == int(left)]
        if starts:
            return parse_time(min(starts))
    return None


def _failed_requests(log: Path, start: datetime, end: datetime | None) -> tuple[int, int]:
    """(5xx, all) requests in the access log between `start` and `end`."""
    failed = total = 0
    if not log.exists():
        return 0, 0
    low, high = start.timestamp(), end.timestamp() if end else float("inf")
    with log.open() as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if low <= float(record.get("ts", 0)) <= high:
                total += 1
                failed += int(record.get("status", 0)) >= 500
    return failed, total


def _rolled_back(env: Env, operations: list[OperationRecord]) -> list[str]:
    lines = []
    for record in operations:
        line = f"- {record.kind} #{record.id} ({record.status})"
        left, target = record.context.get("from_release"), record.context.get("release_id")
        if left and target:
            bad, good = env.ledger.release(int(left)), env.ledger.release(int(target))
            line += (f": {bad.name} ({bad.ref[:12]}, schema {bad.schema_revision}) → "
                     f"{good.name} ({good.ref[:12]}, schema {good.schema_revision})")
            keys = _changed_keys(env, bad.config_id, good.config_id)
            if keys:
                line += f"; configuration keys: {', '.join(keys)}"
        if record.args.get("reason"):
            line += f" — reason: {record.args['reason']}"
        lines.append(line)
    return lines


def _changed_keys(env: Env, first: int, second: int) -> list[str]:
    """Names only: values may be secrets."""
    one, two = env.config_of(first), env.config_of(second)
    return sorted(k for k in set(one) | set(two) if one.get(k) != two.get(k))


def _backups(env: Env, opened: datetime, closed: datetime | None) -> list[str]:
    lines = []
    for manifest in list_backups(env.home):
        created = parse_time(manifest.created_at)
        if created >= opened - timeline.LEAD_IN and (closed is None or created <= closed):
            verified = f"verified {manifest.verified_at}" if manifest.verified_at else \
                "not verified"
            lines.append(f"- backup {manifest.id} ({manifest.kind}, {manifest.engine}, "
                         f"{sum(manifest.tables.values())} rows, {verified})")
    return lines


def _span(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "unknown"
    seconds = max(0.0, (end - start).total_seconds())
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"
