"""Users who confirmed a status subscription in the web app get the `users` notices of an
incident by e-mail from the control plane, each mail with its own unsubscribe link; those
who did not confirm, or unsubscribed, get nothing; a broken list never stops a notice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import update

from jobnaut.app import schema
from jobnaut.app.db import make_engine, make_sessionmaker, transaction
from jobnaut.app.subscriptions.models import StatusSubscription
from jobnaut.config import parse_database_url
from jobnaut.ops.actions import configuration
from jobnaut.ops.comms import sender
from jobnaut.ops.comms.notify import store
from jobnaut.ops.comms.subscribers import SUBSCRIBERS
from jobnaut.ops.context import Env
from tests.ops.conftest import Environment, SourceRepo, make_environment
from tests.support.inbox import SmtpInbox, smtp_inbox, wait_for

PUBLIC = "http://jobs.example.test"


@pytest.fixture(scope="module")
def inbox() -> Iterator[SmtpInbox]:
    with smtp_inbox() as running:
        yield running


@pytest.fixture(scope="module")
def env(source_repo: SourceRepo, inbox: SmtpInbox,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    """An environment whose configuration mails through the inbox, and whose database has
    one confirmed subscriber (ada), one who never confirmed (bob), one who left (cy)."""
    created = make_environment(tmp_path_factory.mktemp("subs") / "env", source_repo, None)
    opened = Env.open(created.home)
    config_id, _ = configuration.changed_config(opened, set_values={
        "SMTP_URL": f"smtp://127.0.0.1:{inbox.port}", "MAIL_FROM": "status@jobnaut.test",
        "PUBLIC_URL": PUBLIC})
    opened.ledger.set_state("initial_config", str(config_id))
    engine = make_engine(parse_database_url(opened.config_of(config_id)["DATABASE_URL"]))
    schema.upgrade(engine)
    with transaction(make_sessionmaker(engine)) as db:
        for name, confirmed, left in (("ada", True, False), ("bob", False, False),
                                      ("cy", True, True)):
            db.add(StatusSubscription(
                email=f"{name}@example.com", confirm_token_hash=f"{name:0<64}",
                unsubscribe_token=f"unsub-{name}", confirmed_at=func_now() if confirmed else None,
                unsubscribed_at=func_now() if left else None))
    engine.dispose()
    yield created
    sender.stop_sender(Env.open(created.home))


def func_now() -> object:
    from sqlalchemy import func

    return func.now()


def test_confirmed_subscribers_get_the_incident_with_their_own_unsubscribe_link(
        env: Environment, inbox: SmtpInbox) -> None:
    env.jobnaut("incident", "open", "-t", "Search is down", "-m", "We are on it",
                "--impact", "major")
    mail = wait_for(lambda: inbox.to("ada@example.com"), what="ada's notice")[0]
    assert "Search is down" in mail.subject and "We are on it" in mail.text
    assert mail.message["List-Unsubscribe"] == f"<{PUBLIC}/unsubscribe?token=unsub-ada>"
    assert f"{PUBLIC}/unsubscribe?token=unsub-ada" in mail.text
    queued = [n for n in store(Env.open(env.home)).notices() if n.channel == SUBSCRIBERS]
    assert sorted(n.recipients or "" for n in queued) == ["ada@example.com"]
    assert inbox.to("bob@example.com") == [] and inbox.to("cy@example.com") == []


def test_after_unsubscribing_nothing_more_is_queued_or_sent(
        env: Environment, inbox: SmtpInbox) -> None:
    opened = Env.open(env.home)
    engine = make_engine(parse_database_url(opened.config_of(opened.current_config_id())
                                            ["DATABASE_URL"]))
    with transaction(make_sessionmaker(engine)) as db:
        db.execute(update(StatusSubscription).where(StatusSubscription.email == "ada@example.com")
                   .values(unsubscribed_at=func_now()))
    engine.dispose()
    before = len([n for n in store(opened).notices() if n.channel == SUBSCRIBERS])
    incident = env.json("incident", "list")[0]["id"]
    env.jobnaut("incident", "update", str(incident), "-m", "Fixed; watching",
                "--state", "monitoring")
    after = len([n for n in store(opened).notices() if n.channel == SUBSCRIBERS])
    assert after == before
    assert len(inbox.to("ada@example.com")) == 1


def test_the_built_in_channel_name_cannot_be_taken(env: Environment) -> None:
    refused = env.jobnaut("notify", "add", SUBSCRIBERS, "json://127.0.0.1:9/x", "--audience",
                          "team", check=False)
    assert refused.returncode == 2 and "built-in" in refused.stderr
