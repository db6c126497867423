"""The public status page, as files the traffic switch serves at /status, /status.json and
/status.atom on the frontend's public port: it answers when every release is down.

Written by the control plane after every incident change (and at `up`); the uptime is
computed from the recorded incidents, with maintenance shown as maintenance, not as
uptime or downtime.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from jobnaut.ops.comms.clock import parse_time
from jobnaut.ops.comms.settings import COMPONENTS
from jobnaut.ops.comms.store import CommsStore, Incident, is_drill
from jobnaut.ops.context import Env

UPTIME_DAYS = 90
COMPONENT_STATE = {"none": "operational", "minor": "degraded_performance",
                   "major": "partial_outage", "critical": "major_outage"}
STATE_WORDS = {"operational": "Operational", "degraded_performance": "Degraded",
               "partial_outage": "Partial outage", "major_outage": "Major outage",
               "under_maintenance": "Under maintenance"}
SEVERITY = ("operational", "under_maintenance", "degraded_performance", "partial_outage",
            "major_outage")


def snapshot(env: Env, at: datetime | None = None) -> dict[str, Any]:
    """Everything the page shows, as the JSON document served at /status.json."""
    at = at or datetime.now(UTC)
    store = CommsStore(env.home.ledger_path)
    # A drill is no outage: its incidents stay off the public page (the team has them).
    incidents = [i for i in store.incidents(limit=500) if not is_drill(i)]
    open_ones = [i for i in incidents if i.open]
    states = {key: "operational" for key in COMPONENTS}
    for incident in open_ones:
        state = "under_maintenance" if incident.kind == "maintenance" else \
            COMPONENT_STATE[incident.impact]
        for component in incident.components:
            states[component] = max(states[component], state, key=SEVERITY.index)
    recent = [i for i in incidents if not i.open and i.resolved_at and
              at - parse_time(i.resolved_at) <= timedelta(days=7)]
    since = _window_start(env, at)
    windows = store.maintenance_windows()
    return {
        "page": {"name": f"JobNaut ({env.home.config.name})",
                 "updated_at": at.isoformat(timespec="seconds")},
        "status": _overall(states),
        "components": [{"id": key, "name": name, "status": states[key],
                        "uptime": _uptime(key, incidents, windows, since, at)}
                       for key, name in COMPONENTS.items()],
        "incidents": [_incident(store, i) for i in open_ones],
        "recent_incidents": [_incident(store, i) for i in recent],
        "scheduled_maintenances": [
            {"id": w["id"], "starts_at": w["starts_at"], "ends_at": w["ends_at"],
             "message": w["message"], "components": w["components"]}
            for w in windows if parse_time(w["ends_at"]) > at],
    }


def publish(env: Env) -> dict[str, Any]:
    """Write the page, its JSON and its Atom feed where the switch serves them."""
    from jobnaut.ops.drivers import traffic

    data = snapshot(env)
    data["banner"] = banner(data)
    switch = traffic.traffic_switch(env.home)
    switch.write_feed("status.json", json.dumps(data, indent=2))
    switch.write_feed("status.atom", atom(env, data))
    switch.write_page("status", html(data))
    return data


def banner(data: dict[str, Any]) -> str | None:
    """The one line the web app shows on every page, or None when all is well."""
    if data["incidents"]:
        incident = data["incidents"][0]
        text = f"{incident['title']} — {incident['updates'][-1]['message']}"
        if incident.get("eta"):
            text += f" (expected back by {incident['eta']})"
        return text
    upcoming = data["scheduled_maintenances"]
    if upcoming:
        return f"Scheduled maintenance {upcoming[0]['starts_at']}: {upcoming[0]['message']}"
    return None


# rendering ------------------------------------------------------------------------------

def html(data: dict[str, Any]) -> str:
    status = data["status"]
    rows = "".join(
        f"<tr><td>{escape(c['name'])}</td><td class=\"{c['status']}\">"
        f"{STATE_WORDS[c['status']]}</td><td>{c['uptime']['percent']:.3f} %</td></tr>"
        for c in data["components"])
    incidents = "".join(_incident_html(i) for i in data["incidents"]) or \
        "<p>No incident is open.</p>"
    planned = "".join(
        f"<li>{escape(w['starts_at'])} → {escape(w['ends_at'])}: {escape(w['message'])}</li>"
        for w in data["scheduled_maintenances"])
    recent = "".join(_incident_html(i) for i in data["recent_incidents"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>JobNaut status</title>
<link rel="alternate" type="application/atom+xml" title="JobNaut status" href="/status.atom">
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2430; }}
main {{ max-width: 44rem; margin: 4vh auto; padding: 2rem; background: #fff;
        border-radius: 12px; box-shadow: 0 1px 4px rgba(0,0,0,.08); }}
table {{ width: 100%; border-collapse: collapse; }} td {{ padding: .4rem 0; }}
.operational {{ color: #127a3a; }} .degraded_performance {{ color: #9a6700; }}
.partial_outage, .major_outage {{ color: #b42318; }} .under_maintenance {{ color: #1a56db; }}
.update {{ margin: .3rem 0 .3rem 1rem; }}
</style></head>
<body><main>
<h1>JobNaut status ({escape(data['page']['name'])})</h1>
<p class="overall {status['indicator']}"><strong>{escape(status['description'])}</strong></p>
<h2>Current incidents</h2>
{incidents}
<h2>Components</h2>
<table><tr><th align="left">Component</th><th align="left">Now</th>
<th align="left">Uptime, {UPTIME_DAYS} days</th></tr>{rows}</table>
{"<h2>Scheduled maintenance</h2><ul>" + planned + "</ul>" if planned else ""}
{"<h2>Resolved in the last 7 days</h2>" + recent if recent else ""}
<p><small>Updated {escape(data['page']['updated_at'])} ·
<a href="/status.json">JSON</a> · <a href="/status.atom">Atom feed</a></small></p>
</main></body></html>
"""


def _incident_html(incident: dict[str, Any]) -> str:
    eta = (f"<p>Expected restoration: <strong>{escape(incident['eta'])}</strong></p>"
           if incident.get("eta") else "")
    updates = "".join(
        f"<p class=\"update\"><strong>{escape(u['state'])}</strong> "
        f"<small>{escape(u['at'])}</small> — {escape(u['message'])}</p>"
        for u in reversed(incident["updates"]))
    return (f"<section class=\"incident\"><h3>{escape(incident['title'])}</h3>"
            f"<p>Impact: {escape(incident['impact'])} · affected: "
            f"{escape(', '.join(COMPONENTS[c] for c in incident['components']))}</p>"
            f"{eta}{updates}</section>")


def atom(env: Env, data: dict[str, Any]) -> str:
    store = CommsStore(env.home.ledger_path)
    titles = {i.id: i.title for i in store.incidents(limit=500)}
    entries = []
    for update in reversed(store.updates()[-50:]):
        title = f"{titles.get(update['incident_id'], 'incident')} ({update['state']})"
        entries.append(
            f"<entry><id>urn:jobnaut:{xml_escape(env.home.config.name)}:update:{update['id']}"
            f"</id><title>{xml_escape(title)}</title>"
            f"<updated>{update['at']}</updated>"
            f"<link href=\"/status\"/>"
            f"<content type=\"text\">{xml_escape(update['message'])}</content></entry>")
    updated = (entries and store.updates()[-1]["at"]) or data["page"]["updated_at"]
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            "<feed xmlns=\"http://www.w3.org/2005/Atom\">"
            f"<id>urn:jobnaut:{xml_escape(env.home.config.name)}:status</id>"
            f"<title>{xml_escape(data['page']['name'])} status</title>"
            f"<updated>{updated}</updated><link href=\"/status\"/>"
            f"<author><name>JobNaut</name></author>{''.join(entries)}</feed>\n")


# figures --------------------------------------------------------------------------------

def _overall(states: dict[str, str]) -> dict[str, str]:
    worst = max(states.values(), key=SEVERITY.index)
    return {"indicator": worst, "description": {
        "operational": "All systems operational",
        "under_maintenance": "Maintenance in progress",
        "degraded_performance": "Some parts of JobNaut are slow or degraded",
        "partial_outage": "Part of JobNaut is unavailable",
        "major_outage": "JobNaut is unavailable"}[worst]}


def _incident(store: CommsStore, incident: Incident) -> dict[str, Any]:
    return {"id": incident.id, "title": incident.title, "kind": incident.kind,
            "state": incident.state, "impact": incident.impact,
            "components": list(incident.components), "eta": incident.eta,
            "opened_at": incident.opened_at, "resolved_at": incident.resolved_at,
            "updates": [{"at": u["at"], "state": u["state"], "message": u["message"]}
                        for u in store.updates(incident.id)]}


def _uptime(component: str, incidents: list[Incident], windows: list[dict[str, Any]],
            since: datetime, at: datetime) -> dict[str, Any]:
    """Down: incidents of major or critical impact on the component. Maintenance (a
    maintenance incident or a scheduled window) is neither: it is left out of the
    measured time and reported beside it."""
    down, maintenance = [], []
    for incident in incidents:
        if component not in incident.components:
            continue
        span = (parse_time(incident.opened_at),
                parse_time(incident.resolved_at) if incident.resolved_at else at)
        if incident.kind == "maintenance":
            maintenance.append(span)
        elif incident.impact in ("major", "critical"):
            down.append(span)
    for window in windows:
        if component in window["components"]:
            window_span = (parse_time(window["starts_at"]), parse_time(window["ends_at"]))
            maintenance.append((window_span[0], min(window_span[1], at)))
    measured = (at - since).total_seconds()
    maintenance_s = _covered(maintenance, since, at)
    down_s = _covered(down, since, at) - _overlap(down, maintenance, since, at)
    base = max(measured - maintenance_s, 1e-9)
    return {"percent": round(100 * max(0.0, 1 - down_s / base), 3),
            "down_minutes": round(down_s / 60, 1),
            "maintenance_minutes": round(maintenance_s / 60, 1),
            "since": since.isoformat(timespec="seconds")}


def _covered(spans: list[tuple[datetime, datetime]], since: datetime, at: datetime) -> float:
    """Seconds covered by the union of `spans`, clipped to [since, at]."""
    clipped = sorted((max(a, since), min(b, at)) for a, b in spans if b > since and a < at)
    total, end = 0.0, since
    for start, stop in clipped:
        start = max(start, end)
        if stop > start:
            total += (stop - start).total_seconds()
            end = stop
    return total


def _overlap(first: list[tuple[datetime, datetime]], second: list[tuple[datetime, datetime]],
             since: datetime, at: datetime) -> float:
    both = [(max(a, c), min(b, d)) for a, b in first for c, d in second if min(b, d) > max(a, c)]
    return _covered(both, since, at)


def _window_start(env: Env, at: datetime) -> datetime:
    """90 days back, or since the environment was created if that is later: a new
    environment's uptime is not padded with days it did not exist."""
    first = CommsStore(env.home.ledger_path).first_event_at()
    created = parse_time(first) if first else at
    return max(at - timedelta(days=UPTIME_DAYS), created)

