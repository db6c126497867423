"""An emergency rollback tells everyone by itself: it opens a critical incident, notices
reach a real SMTP server and a real webhook (a dead channel changes nothing), the status
page and the web app's banner show it, resolving notifies everyone, and the post-mortem
draft holds the real times. SQLite only: none of this depends on the database."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from jobnaut.ops.comms.store import CommsStore
from tests.ops.conftest import Environment, SourceRepo, _up, make_environment
from tests.support.browser import in_a_browser
from tests.support.inbox import SmtpInbox, WebhookInbox, smtp_inbox, wait_for, webhook_inbox

SETTINGS = """
[notify]
escalate_after_minutes = 60

[contacts.ops]
role = "Operations team"
name = "Olga Ops"
email = "ops@example.com"
audiences = ["team"]
impacts = ["critical"]
"""


@pytest.fixture(scope="module")
def inboxes() -> Iterator[tuple[SmtpInbox, WebhookInbox]]:
    with smtp_inbox() as smtp, webhook_inbox() as hook:
        yield smtp, hook


@pytest.fixture(scope="module")
def env(source_repo: SourceRepo, tmp_path_factory: pytest.TempPathFactory,
        inboxes: tuple[SmtpInbox, WebhookInbox]) -> Iterator[Environment]:
    smtp, hook = inboxes
    created = make_environment(tmp_path_factory.mktemp("comms-e2e") / "env", source_repo, None)
    with (created.home / "jobnaut.toml").open("a") as toml:
        toml.write(SETTINGS)
    created.jobnaut("notify", "add", "team-chat", hook.url("team"), "--audience", "team")
    created.jobnaut("notify", "add", "dead-chat", "json://127.0.0.1:9/gone", "--audience", "team")
    created.jobnaut("notify", "add", "users", smtp.url("status@jobnaut.test", "users@example.com"),
                    "--audience", "users")
    created.jobnaut("notify", "add", "oncall", smtp.url("oncall@jobnaut.test"),
                    "--audience", "contacts")
    yield from _up(created)


def test_an_emergency_tells_everyone_and_the_record_makes_the_post_mortem(
        env: Environment, source_repo: SourceRepo,
        inboxes: tuple[SmtpInbox, WebhookInbox]) -> None:
    smtp, hook = inboxes
    good = env.json("status")["active_release"]
    bad = source_repo.commit_variant("comms-bad", {"README.md": ("JobNaut", "JobNaut (bad)")})
    env.jobnaut("deploy", bad)

    env.jobnaut("rollback", "emergency", "--reason", "checkout broken", "--yes")
    assert env.json("status")["active_release"] == good  # a dead channel blocked nothing
    [incident] = env.json("incident", "list")
    assert (incident["impact"], incident["state"]) == ("critical", "monitoring")

    wait_for(lambda: len(hook.posts) >= 2, what="the team's notices")
    assert hook.posts[0]["title"].startswith("Major outage: JobNaut is being restored")
    assert "checkout broken" in hook.posts[0]["message"]
    assert "serving again" in hook.posts[1]["message"]
    wait_for(lambda: smtp.to("users@example.com") and smtp.to("ops@example.com"),
             what="the e-mails")
    dead = wait_for(lambda: [c for c in env.json("status")["failing_channels"]
                             if c.startswith("dead-chat")], what="the dead channel")
    assert dead == ["dead-chat: json delivery failed"]

    status = httpx.get(f"{env.web}/status.json", timeout=10).json()
    assert status["status"]["indicator"] == "major_outage"
    assert status["incidents"][0]["eta"] and status["incidents"][0]["state"] == "monitoring"
    in_a_browser(_sees_the_banner_and_the_status_page, f"{env.web}/jobs")

    env.jobnaut("incident", "resolve", str(incident["id"]), "--root-cause",
                "a config typo in release v2")
    wait_for(lambda: any(p["title"].startswith("Resolved:") for p in hook.posts),
             what="the resolution to the team")
    wait_for(lambda: any(m.subject.startswith("Resolved:")
                         for m in smtp.to("users@example.com")), what="users told")
    assert httpx.get(f"{env.web}/status.json", timeout=10).json()["status"]["indicator"] == \
        "operational"

    refused = env.jobnaut("freeze", "--lift", check=False)
    assert refused.returncode == 2 and env.json("status")["deploy_freeze"]
    env.jobnaut("freeze", "--lift", "--reason", "v2's config typo fixed in v3")

    env.jobnaut("incident", "report", str(incident["id"]))
    report = (env.home / "reports" / f"incident-{incident['id']}.md").read_text()
    assert "Time to restore (MTTR): " in report and "Time to restore: not" not in report
    assert "rollback-emergency #" in report and f"→ {good}" in report
    assert "root cause: a config typo in release v2" in report
    assert "- [ ] Fix verified on staging" in report
    assert "EMERGENCY: checkout broken" in report  # the timeline
    store = CommsStore(env.home / "ledger.db")
    assert all(n.status in ("sent", "pending", "failed") for n in store.notices())


def _sees_the_banner_and_the_status_page(page: Page, url: str) -> None:
    page.goto(url)
    banner = page.get_by_role("alert")
    expect(banner).to_contain_text("JobNaut is being restored")
    banner.get_by_role("link", name="Status page").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("JobNaut status")
    expect(page.get_by_text("Major outage").first).to_be_visible()


