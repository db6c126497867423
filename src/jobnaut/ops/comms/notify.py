"""Notices: an outbox in the ledger, delivered channel by channel with Apprise.

A rollback only *enqueues* notices and starts a detached sender (`jobnaut notify send`):
a slow or dead channel can never block or fail it. Each notice is one channel's delivery,
so each result is recorded (Apprise alone answers one bool for all its channels); a
failed attempt is retried with backoff, then recorded as failed and shown in `status`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jobnaut.ops.comms import subscribers
from jobnaut.ops.comms.settings import AUDIENCES, NotifySettings
from jobnaut.ops.comms.store import CommsStore, Notice
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import now

CONTACTS = "contacts"  # a channel of this audience e-mails the contacts of each notice
CHANNEL_AUDIENCES = (*AUDIENCES, CONTACTS)
BACKOFF_SECONDS = (5, 30, 120, 600, 1800)
TIMEOUTS = {"cto": "4", "rto": "8"}  # Apprise's connect/read timeouts, on every URL


def store(env: Env) -> CommsStore:
    return CommsStore(env.home.ledger_path)


# channels ------------------------------------------------------------------------------

def add_channel(env: Env, name: str, url: str, audience: str) -> str:
    """Check and store a channel; the URL (with its token or password) is sealed."""
    import apprise

    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise OpsError(f"bad channel name {name!r}", hint="letters, digits, - and _",
                       exit_code=2)
    if name == subscribers.SUBSCRIBERS:
        raise OpsError(f"{name!r} is the built-in channel of the web app's status subscribers",
                       hint="choose another name", exit_code=2)
    if audience not in CHANNEL_AUDIENCES:
        raise OpsError(f"unknown audience {audience!r}",
                       hint=f"one of {', '.join(CHANNEL_AUDIENCES)}", exit_code=2)
    kind = urlsplit(url).scheme
    if apprise.Apprise.instantiate(url) is None:
        raise OpsError(f"Apprise does not understand this {kind or 'channel'} URL",
                       hint="see https://github.com/caronc/apprise/wiki for the forms, e.g. "
                            "mailto://, json://, slack://, mmost://, discord://", exit_code=2)
    if audience == CONTACTS and kind not in ("mailto", "mailtos"):
        raise OpsError("the contacts channel must be an e-mail (mailto://) channel",
                       exit_code=2)
    store(env).add_channel(name, audience, kind, env.cipher.seal({"url": url}))
    env.ledger.event(f"notification channel {name} ({kind}, {audience}) added")
    return kind


def remove_channel(env: Env, name: str) -> None:
    if not store(env).remove_channel(name):
        raise OpsError(f"no channel named {name!r}", hint="`jobnaut notify list`", exit_code=2)
    env.ledger.event(f"notification channel {name} removed")


def channels(env: Env) -> list[dict[str, object]]:
    """Channels with their health, never their URLs."""
    notices = store(env).notices(limit=500)
    listed = []
    for channel in store(env).channels():
        mine = [n for n in notices if n.channel == channel["name"]]
        last = mine[0] if mine else None
        listed.append({"name": channel["name"], "audience": channel["audience"],
                       "kind": channel["kind"], "added_at": channel["added_at"],
                       "last_status": last.status if last else None,
                       "last_error": last.last_error if last else None,
                       "pending": sum(1 for n in mine if n.status == "pending"),
                       "failed": sum(1 for n in mine if n.status == "failed")})
    return listed


def failing_channels(env: Env) -> list[str]:
    """Channels whose latest notice failed or is waiting for a retry: for `status`."""
    return [f"{c['name']}: {c['last_error']}" for c in channels(env)
            if c["last_error"] and c["last_status"] in ("pending", "failed")]


# the outbox ----------------------------------------------------------------------------

def enqueue(env: Env, settings: NotifySettings, *, audience: str, impact: str, subject: str,
            body: str, incident_id: int | None) -> list[int]:
    """One notice per channel of the audience, and one for the contacts who receive it."""
    book = store(env)
    ids = []
    if settings.status_url:
        body = f"{body}\n\nStatus: {settings.status_url}"
    if audience == "users":
        for email in subscribers.subscriber_emails(env):
            ids.append(book.enqueue(incident_id=incident_id, channel=subscribers.SUBSCRIBERS,
                                    audience=audience, subject=subject, body=body,
                                    recipients=email))
    for channel in book.channels():
        if channel["audience"] == audience:
            ids.append(book.enqueue(incident_id=incident_id, channel=channel["name"],
                                    audience=audience, subject=subject, body=body))
        elif channel["audience"] == CONTACTS:
            emails = [c.email for c in settings.contacts_for(audience, impact) if c.email]
            if emails:
                ids.append(book.enqueue(incident_id=incident_id, channel=channel["name"],
                                        audience=audience, subject=subject, body=body,
                                        recipients=",".join(emails)))
    return ids


def deliver_due(env: Env, settings: NotifySettings) -> int:
    """Send every notice whose time has come; returns how many were sent."""
    book = store(env)
    sealed = {c["name"]: c["sealed"] for c in book.channels()}
    sent = 0
    mailer: subscribers.Mailer | None = None
    for notice in book.due_notices(now()):
        if notice.channel == subscribers.SUBSCRIBERS:
            mailer = mailer or subscribers.Mailer(env)
            error = mailer.deliver(notice.recipients or "", notice.subject, notice.body)
            if error is None:
                book.record_attempt(notice.id, status="sent", error=None, next_attempt_at=None)
                sent += 1
                continue
            _retry_or_give_up(env, settings, notice, error)
            continue
        if notice.channel not in sealed:
            book.record_attempt(notice.id, status="failed", error="channel was removed",
                                next_attempt_at=None)
            continue
        url = env.cipher.open(sealed[notice.channel])["url"]
        error = _send(url, notice.subject, notice.body, notice.recipients)
        if error is None:
            book.record_attempt(notice.id, status="sent", error=None, next_attempt_at=None)
            sent += 1
            continue
        _retry_or_give_up(env, settings, notice, error)
    return sent


def _retry_or_give_up(env: Env, settings: NotifySettings, notice: Notice, error: str) -> None:
    book = store(env)
    attempt = notice.attempts + 1
    if attempt >= settings.max_attempts:
        book.record_attempt(notice.id, status="failed", error=error, next_attempt_at=None)
        env.ledger.event(f"notice #{notice.id} to {notice.channel} failed after {attempt} "
                         f"attempts: {error}", level="warning")
    else:
        delay = BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)]
        retry_at = (datetime.now(UTC) + timedelta(seconds=delay)).isoformat(
            timespec="milliseconds")
        book.record_attempt(notice.id, status="pending", error=error,
                            next_attempt_at=retry_at)


def test_channels(env: Env, settings: NotifySettings,
                  name: str | None = None) -> list[tuple[str, str | None]]:
    """Send a test message through each channel (or one) now: (channel, error or None)."""
    found = [c for c in store(env).channels() if name is None or c["name"] == name]
    if name is not None and not found:
        raise OpsError(f"no channel named {name!r}", hint="`jobnaut notify list`", exit_code=2)
    results: list[tuple[str, str | None]] = []
    for channel in found:
        recipients = None
        if channel["audience"] == CONTACTS:
            emails = [c.email for c in settings.contacts if c.email]
            if not emails:
                results.append((channel["name"], "no contact has an e-mail address"))
                continue
            recipients = ",".join(emails)
        url = env.cipher.open(channel["sealed"])["url"]
        error = _send(url, "JobNaut test message",
                      f"A test from JobNaut ({env.home.config.name}): this channel works.",
                      recipients)
        env.ledger.event(f"test message to channel {channel['name']}: "
                         f"{'sent' if error is None else error}",
                         level="info" if error is None else "warning")
        results.append((channel["name"], error))
    return results


def _send(url: str, subject: str, body: str, recipients: str | None) -> str | None:
    """None when the channel took the message, else why not (without the URL: it holds
    the channel's secret)."""
    import apprise

    target = _with_params(url, {**TIMEOUTS, **({"to": recipients} if recipients else {})})
    sender = apprise.Apprise()
    if not sender.add(target):
        return "the channel URL is no longer valid"
    try:
        ok = sender.notify(title=subject, body=body)
    except Exception as exc:  # a plugin's own failure must not stop the other notices
        return f"{type(exc).__name__}"
    return None if ok else f"{urlsplit(url).scheme} delivery failed"


def _with_params(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query, safe="@,")))
