"""Issue 10's user-facing parts on the real stack: "report a problem" recorded per release
and counted for the control plane, and status-notice subscriptions by email with double
opt-in, through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobnaut.app.subscriptions.service import confirmed_subscribers
from tests.browser.stack import Stack, run_backend, run_frontend
from tests.support.databases import sqlite_url
from tests.support.inbox import SmtpInbox, smtp_inbox, wait_for
from tests.support.web_client import WebClient

RELEASE = "v42"


@pytest.fixture(scope="module")
def inbox() -> Iterator[SmtpInbox]:
    with smtp_inbox() as running:
        yield running


@pytest.fixture(scope="module")
def site(inbox: SmtpInbox, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Stack, Path]]:
    directory = tmp_path_factory.mktemp("feedback")
    with run_backend(directory, JOBNAUT_RELEASE=RELEASE,
                     SMTP_URL=f"smtp://mailer:s3cret-pass@127.0.0.1:{inbox.port}",
                     MAIL_FROM="status@jobnaut.test",
                     PUBLIC_URL="http://jobs.example.test") as backend, \
            run_frontend(backend.url, directory) as frontend:
        yield Stack(backend=backend, frontend=frontend), directory


def link(text: str, path: str) -> str:
    found = re.search(r"http://jobs\.example\.test(" + re.escape(path) + r"\?token=[\w-]+)",
                      text)
    assert found, text
    return found.group(1)


def test_every_page_links_to_report_a_problem_and_status_notices(
        site: tuple[Stack, Path]) -> None:
    stack, _ = site
    for path in ("/", "/jobs?q=python", "/signin", "/no-such-page"):
        page = httpx.get(stack.url + path).text
        assert 'href="/report?page=' in page and 'href="/subscribe"' in page, path


def test_a_report_is_recorded_against_the_serving_release(site: tuple[Stack, Path]) -> None:
    stack, _ = site
    counts = stack.backend.url + "/reports/counts"
    before = httpx.get(counts).json()
    assert before["release"] == RELEASE
    with WebClient(base_url=stack.url) as client:
        empty = client.post("/report", data={"page": "/jobs?q=x", "message": "  "})
        assert empty.status_code == 422 and "3 to 2000 characters" in empty.text
        assert httpx.get(counts).json() == before  # nothing recorded
        sent = client.post("/report", data={"page": "/jobs?q=x",
                                             "message": "Search shows nothing for x"})
        assert sent.status_code == 303
        assert sent.headers["location"] == "/jobs?q=x&notice=report_sent"
        # An off-site page cannot become a redirect.
        away = client.post("/report", data={"page": "https://evil.test/",
                                             "message": "Something odd"})
        assert away.headers["location"] == "/?notice=report_sent"
    after = httpx.get(counts).json()["by_release"]
    assert after[RELEASE] == before["by_release"].get(RELEASE, 0) + 2


def test_subscribe_confirm_receive_and_unsubscribe(
        site: tuple[Stack, Path], inbox: SmtpInbox) -> None:
    stack, directory = site
    database = sqlite_url(directory)
    address = "ada@example.com"
    with WebClient(base_url=stack.url) as client:
        bad = client.post("/subscribe", data={"email": "not-an-address"})
        assert bad.status_code == 422 and 'value="not-an-address"' in bad.text

        asked = client.post("/subscribe", data={"email": address})
        assert asked.status_code == 200 and "Check your inbox" in asked.text
        mail = wait_for(lambda: inbox.to(address), what="the confirmation mail")[0]
        assert mail.subject == "Confirm JobNaut status notices"
        assert "s3cret-pass" not in mail.text and "s3cret-pass" not in asked.text
        unsubscribe = link(mail.text, "/unsubscribe")
        assert mail.message["List-Unsubscribe"] == f"<http://jobs.example.test{unsubscribe}>"
        assert confirmed_subscribers(database) == []  # not before the link is followed

        confirm = link(mail.text, "/subscribe/confirm")
        shown = client.get(confirm)  # opening the link changes nothing by itself
        assert "Confirm my subscription" in shown.text
        assert confirmed_subscribers(database) == []
        token = confirm.split("token=")[1]
        wrong = client.post("/subscribe/confirm", data={"token": token[:-2] + "xx"})
        assert wrong.status_code == 404 and "not valid" in wrong.text
        done = client.post("/subscribe/confirm", data={"token": token})
        assert f"Subscribed: {address}" in done.text

        subscribers = confirmed_subscribers(database)
        assert [s.email for s in subscribers] == [address]
        assert subscribers[0].unsubscribe_url("http://jobs.example.test/") == \
            "http://jobs.example.test" + unsubscribe

        gone = client.post("/unsubscribe", data={"token": unsubscribe.split("token=")[1]})
        assert f"Unsubscribed: {address}" in gone.text
        assert confirmed_subscribers(database) == []
        # Subscribing again starts over with a new confirmation.
        client.post("/subscribe", data={"email": address})
        wait_for(lambda: len(inbox.to(address)) == 2, what="a second confirmation mail")
        assert confirmed_subscribers(database) == []


def test_mail_server_down_says_so_and_records_nothing(tmp_path: Path) -> None:
    with run_backend(tmp_path, SMTP_URL="smtp://127.0.0.1:9") as backend:
        refused = httpx.post(backend.url + "/api/subscriptions", json={"email": "b@example.com"})
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "mail_unavailable"
        assert confirmed_subscribers(sqlite_url(tmp_path)) == []
