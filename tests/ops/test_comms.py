"""Telling people: incidents, notices through a real SMTP server and a real webhook
receiver, retries of a channel that is down, escalation, the status page's files and
uptime, the timeline. No release runs here (the end-to-end path is in
test_comms_emergency.py); the communication records do not depend on the database."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobnaut.ops.comms import incidents, maintenance, notify, sender, settings, statuspage
from jobnaut.ops.comms.store import CommsStore, Incident
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError
from tests.ops.conftest import Environment, SourceRepo, make_environment
from tests.support.inbox import SmtpInbox, WebhookInbox, smtp_inbox, wait_for, webhook_inbox

SMTP_PASSWORD = "S3cretSmtpPassw0rd-not-for-output"
HOOK_TOKEN = "hooktoken-9f8e7d6c5b4a"

CONTACTS = """
[notify]
status_url = "https://status.jobnaut.example/status"
escalate_after_minutes = {escalate}
update_every_minutes = {update}
max_attempts = 2

[contacts.dev_lead]
role = "Development team lead"
name = "Dana Lead"
email = "dana@example.com"
phone = "+1 555 0100"
audiences = ["team"]
impacts = ["major", "critical"]

[contacts.cto]
role = "CTO"
name = "Chris Chief"
email = "cto@example.com"
audiences = ["escalation"]
"""


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpInbox]:
    with smtp_inbox() as inbox:
        yield inbox


@pytest.fixture(scope="module")
def hook() -> Iterator[WebhookInbox]:
    with webhook_inbox() as inbox:
        yield inbox


def _environment(tmp_path: Path, source_repo: SourceRepo, *, escalate: float = 15,
                 update: float = 30) -> Environment:
    env = make_environment(tmp_path / "env", source_repo, None)
    with (env.home / "jobnaut.toml").open("a") as toml:
        toml.write(CONTACTS.format(escalate=escalate, update=update))
    return env


def _channels(env: Environment, smtp: SmtpInbox, hook: WebhookInbox) -> None:
    env.jobnaut("notify", "add", "team-chat", hook.url(HOOK_TOKEN), "--audience", "team")
    env.jobnaut("notify", "add", "users-mail",
                smtp.url("status@jobnaut.test", "subscribers@example.com")
                + f"&user=jobnaut&pass={SMTP_PASSWORD}", "--audience", "users")
    env.jobnaut("notify", "add", "oncall-mail", smtp.url("oncall@jobnaut.test"),
                "--audience", "contacts")


@pytest.fixture(scope="module")
def with_channels(tmp_path_factory: pytest.TempPathFactory, source_repo: SourceRepo,
                  smtp: SmtpInbox, hook: WebhookInbox) -> Iterator[Environment]:
    env = _environment(tmp_path_factory.mktemp("comms"), source_repo)
    _channels(env, smtp, hook)
    yield env
    sender.stop_sender(Env.open(env.home))


def test_an_incident_reaches_each_audience_and_the_status_page_from_open_to_resolve(
        with_channels: Environment, smtp: SmtpInbox, hook: WebhookInbox) -> None:
    env = with_channels
    smtp.mails.clear()
    hook.posts.clear()
    opened = env.json("incident", "open", "--title", "Job search is failing", "--impact",
                      "major", "-c", "search", "--message", "Searches return errors.",
                      "--eta", "30m")
    assert opened["state"] == "investigating" and opened["eta"]
    ops = Env.open(env.home)
    # The detached sender delivers: the team's chat, the users' list, the team lead.
    wait_for(lambda: len(hook.posts) == 1 and len(smtp.mails) == 2, what="3 notices")
    assert [p["path"] for p in hook.posts] == [f"/{HOOK_TOKEN}"]
    assert "Outage: Job search is failing" in hook.posts[0]["title"]
    assert "Searches return errors." in hook.posts[0]["message"]
    assert "https://status.jobnaut.example/status" in hook.posts[0]["message"]
    assert smtp.to("subscribers@example.com")[0].subject == "Outage: Job search is failing"
    lead = smtp.to("dana@example.com")
    assert len(lead) == 1 and "Expected restoration" in lead[0].text
    assert not smtp.to("cto@example.com")  # escalation only when nobody acknowledges

    page = env.home / "run" / "switch" / "pages"
    published = statuspage.snapshot(ops)
    search = next(c for c in published["components"] if c["id"] == "search")
    assert search["status"] == "partial_outage"
    assert published["status"]["indicator"] == "partial_outage"
    assert published["incidents"][0]["eta"] == opened["eta"]
    assert "Job search is failing" in (page / "status.html").read_text()
    feed = ET.parse(page / "status.atom").getroot()
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert len(feed.findall("{http://www.w3.org/2005/Atom}entry")) == 1

    env.jobnaut("incident", "update", str(opened["id"]), "--state", "identified",
                "--message", "A bad index; restoring the previous version.")
    refused = env.jobnaut("incident", "resolve", str(opened["id"]), "--root-cause", " ",
                          check=False)
    assert refused.returncode == 2 and "root cause" in refused.stderr
    assert CommsStore(env.home / "ledger.db").incident(opened["id"]).open
    env.jobnaut("incident", "resolve", str(opened["id"]), "--root-cause",
                "missing index in migration 0007 (PR #412)")
    # The update and the resolution, each 3 ways.
    wait_for(lambda: len(hook.posts) == 3 and len(smtp.mails) == 6, what="6 more notices")
    assert hook.posts[-1]["title"] == "Resolved: Job search is failing"
    done = statuspage.snapshot(ops)
    assert done["status"]["indicator"] == "operational" and not done["incidents"]
    assert done["recent_incidents"][0]["state"] == "resolved"

    timeline = env.json("timeline", "--incident", str(opened["id"]))
    messages = [entry["message"] for entry in timeline]
    assert any("investigating (major)" in m for m in messages)
    assert any("resolved" in m and "root cause" in m for m in messages)
    assert sum("via team-chat sent" in m for m in messages) == 3


def test_channel_secrets_are_sealed_and_never_shown(with_channels: Environment) -> None:
    env = with_channels
    env.jobnaut("incident", "open", "--title", "Sign-in slow", "--impact", "minor", "-c",
                "sign_in", "--message", "Sign-in takes long.")
    outputs = [env.jobnaut("notify", "list").stdout, env.jobnaut("notify", "list", "--json").stdout,
               env.jobnaut("status", "--json", check=False).stdout,
               env.jobnaut("timeline").stdout, env.jobnaut("incident", "list", "--all").stdout]
    stored = (env.home / "ledger.db").read_bytes()
    for secret in (SMTP_PASSWORD, HOOK_TOKEN):
        assert all(secret not in text for text in outputs)
        assert secret.encode() not in stored
    assert "users-mail" in outputs[0] and "mailto" in outputs[0]


def test_a_channel_that_is_down_is_retried_then_recorded_and_shown_in_status(
        tmp_path: Path, source_repo: SourceRepo, hook: WebhookInbox) -> None:
    env = _environment(tmp_path, source_repo)
    env.jobnaut("notify", "add", "team-chat", hook.url("down"), "--audience", "team")
    ops = Env.open(env.home)
    store = CommsStore(ops.home.ledger_path)
    hook.failing = True
    try:
        incidents.open_incident(ops, title="Saved jobs fail", impact="minor",
                                components=["saved_jobs"], message="Saving fails.")
        [notice] = wait_for(lambda: [n for n in store.notices() if n.attempts == 1],
                            what="the first attempt")
        assert (notice.status, notice.last_error) == ("pending", "json delivery failed")
        assert env.json("status")["failing_channels"] == ["team-chat: json delivery failed"]
        # The retry comes after the backoff; the second attempt is the last (max_attempts 2).
        [notice] = wait_for(lambda: [n for n in store.notices() if n.status == "failed"],
                            what="the retry")
        assert notice.attempts == 2
        assert any("failed after 2 attempts" in e["message"] for e in ops.ledger.events(20))
        listed = env.json("notify", "list")
        assert listed[0]["failed"] == 1 and listed[0]["last_status"] == "failed"
    finally:
        hook.failing = False
        sender.stop_sender(ops)


def test_nobody_acknowledging_escalates_and_an_overdue_update_nudges_the_team(
        tmp_path: Path, source_repo: SourceRepo, smtp: SmtpInbox, hook: WebhookInbox) -> None:
    env = _environment(tmp_path, source_repo, escalate=0.005, update=0.01)  # 0.3 s, 0.6 s
    _channels(env, smtp, hook)
    ops = Env.open(env.home)
    smtp.mails.clear()
    opened = incidents.open_incident(ops, title="API down", impact="critical",
                                     components=["api"], message="The API is down.")
    escalated = wait_for(lambda: smtp.to("cto@example.com"), what="the escalation")
    wait_for(lambda: any(p["title"] == "Update overdue: API down" for p in hook.posts),
             what="the nudge")
    assert len(escalated) == 1 and escalated[0].subject == "ESCALATION: API down"
    assert f"jobnaut incident ack {opened.id}" in escalated[0].text
    record = CommsStore(ops.home.ledger_path).incident(opened.id)
    assert record.escalated_at and record.nudged_at

    # Acknowledged in time: nobody is escalated to.
    smtp.mails.clear()
    second = incidents.open_incident(ops, title="Web slow", impact="critical",
                                     components=["web"], message="Pages are slow.")
    incidents.acknowledge(ops, second.id, "sam")
    wait_for(lambda: any(p["title"] == "Update overdue: Web slow" for p in hook.posts),
             what="the second nudge")  # the sender ran past the escalation time
    assert not smtp.to("cto@example.com")
    assert CommsStore(ops.home.ledger_path).incident(second.id).acknowledged_by == "sam"
    sender.stop_sender(ops)


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory,
                source_repo: SourceRepo) -> Environment:
    env = _environment(tmp_path_factory.mktemp("comms-bad-input"), source_repo)
    CommsStore(env.home / "ledger.db")  # the tables, so that they can be counted
    return env


def test_bad_input_is_refused_and_changes_nothing(shared_home: Environment) -> None:
    ops = Env.open(shared_home.home)
    before = _counts(shared_home.home / "ledger.db")
    refusals = [
        lambda: incidents.open_incident(ops, title="x", impact="apocalyptic",
                                        components=["api"], message="y"),
        lambda: incidents.open_incident(ops, title="x", impact="major",
                                        components=["kitchen"], message="y"),
        lambda: incidents.open_incident(ops, title="x", impact="major", components=[],
                                        message="y"),
        lambda: incidents.open_incident(ops, title="x", impact="major", components=["api"],
                                        message="y", eta="next tuesday"),
        lambda: incidents.open_incident(ops, title=" ", impact="major", components=["api"],
                                        message="y"),
        lambda: incidents.update_incident(ops, 99, message="y"),
        lambda: incidents.resolve(ops, 99, root_cause="z"),
        lambda: notify.add_channel(ops, "chat", "nonsense://nowhere", "team"),
        lambda: notify.add_channel(ops, "chat", "json://127.0.0.1:9/x", "everyone"),
        lambda: notify.add_channel(ops, "bad name!", "json://127.0.0.1:9/x", "team"),
        lambda: notify.add_channel(ops, "mail", "json://127.0.0.1:9/x", "contacts"),
        lambda: maintenance.schedule(ops, start="2h", end="1h", message="upgrade",
                                     components=["api"]),
        lambda: maintenance.schedule(ops, start="2000-01-01T00:00Z", end="2000-01-01T01:00Z",
                                     message="upgrade", components=["api"]),
    ]
    for refuse in refusals:
        with pytest.raises(OpsError) as refused:
            refuse()
        assert refused.value.exit_code == 2
    # Through the command: a clear one-line error, exit 2.
    for args in (["incident", "open", "--title", "x", "--message", "y", "--impact", "huge"],
                 ["notify", "add", "chat", "nonsense://nowhere", "--audience", "team"]):
        result = shared_home.jobnaut(*args, check=False)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "unknown impact" in result.stderr or "Apprise does not understand" in \
            result.stderr
    assert _counts(shared_home.home / "ledger.db") == before


def test_bad_notify_and_contacts_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown \\[notify\\] setting channels"):
        settings.parse({"notify": {"channels": []}})
    with pytest.raises(ValueError, match="unknown audience 'board'"):
        settings.parse({"contacts": {"x": {"name": "X", "audiences": ["board"]}}})
    with pytest.raises(ValueError, match="is not one address"):
        settings.parse({"contacts": {"x": {"name": "X", "email": "a@b.c, d@e.f"}}})
    with pytest.raises(ValueError, match="needs a name"):
        settings.parse({"contacts": {"x": {"email": "a@b.c"}}})


def test_uptime_counts_major_outages_and_leaves_maintenance_out() -> None:
    at = datetime(2026, 6, 30, tzinfo=UTC)
    since = at - timedelta(days=10)

    def incident(kind: str, impact: str, start_h: float, hours: float) -> Incident:
        opened = since + timedelta(hours=start_h)
        return Incident(1, "t", kind, "resolved", impact, ("api",), None, None,
                        opened.isoformat(), None, None, None, None,
                        (opened + timedelta(hours=hours)).isoformat(), "x", None)

    history = [incident("incident", "critical", 24, 2),  # 2 h down
               incident("incident", "major", 25, 2),  # overlaps: 1 h more
               incident("incident", "minor", 48, 5),  # degraded, not down
               incident("maintenance", "major", 72, 4)]  # maintenance, not down
    figures = statuspage._uptime("api", history, [], since, at)
    assert figures["down_minutes"] == 180 and figures["maintenance_minutes"] == 240
    assert figures["percent"] == pytest.approx(100 * (1 - 3 / (240 - 4)), abs=1e-3)
    assert statuspage._uptime("web", history, [], since, at)["percent"] == 100


def test_the_status_page_is_served_by_the_switch_as_html_json_and_atom(
        tmp_path: Path, source_repo: SourceRepo) -> None:
    """Caddy serves the published files with every release down (none runs here)."""
    import httpx

    from jobnaut.ops.drivers import traffic

    env = _environment(tmp_path, source_repo)
    ops = Env.open(env.home)
    env.jobnaut("maintenance", "schedule", "--start", "1h", "--end", "2h", "-m",
                "Database upgrade", "-c", "database")
    traffic.ensure_switch(ops.home)
    try:
        base = f"http://127.0.0.1:{env.frontend_port}"
        data = httpx.get(f"{base}/status.json", timeout=10)
        assert data.headers["content-type"].startswith("application/json")
        assert data.json()["scheduled_maintenances"][0]["message"] == "Database upgrade"
        assert data.json()["banner"].startswith("Scheduled maintenance")
        html = httpx.get(f"{base}/status", timeout=10)
        assert html.status_code == 200 and "Database upgrade" in html.text
        feed = httpx.get(f"{base}/status.atom", timeout=10)
        assert feed.headers["content-type"].startswith("application/atom+xml")
        ET.fromstring(feed.content)
    finally:
        traffic.stop_switch(ops.home)


def _counts(ledger: Path) -> tuple[int, ...]:
    with sqlite3.connect(ledger) as db:
        return tuple(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                     for table in ("incidents", "incident_updates", "channels", "notices",
                                   "maintenance_windows"))


def test_opening_by_hand_and_by_an_operation_share_one_incident(
        tmp_path: Path, source_repo: SourceRepo) -> None:
    env = _environment(tmp_path, source_repo)
    ops = Env.open(env.home)
    first = incidents.open_incident(ops, title="Errors", impact="minor", components=["api"],
                                    message="Some errors.")
    raised = incidents.opened_by_operation(ops, title="auto", impact="critical",
                                           message="Rolling back.", operation_id=7)
    assert raised.id == first.id and raised.impact == "critical" and raised.state == "identified"
    incidents.resolve(ops, first.id, root_cause="x")
    with pytest.raises(OpsError, match="already resolved"):
        incidents.resolve(ops, first.id, root_cause="x")
