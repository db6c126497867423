"""Status-notice subscriptions: subscribe (a confirmation mail), confirm, unsubscribe, and
the list of confirmed subscribers that the control plane sends incident notices to."""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from jobnaut.app.db import make_engine, make_sessionmaker, transaction
from jobnaut.app.errors import ApiError, not_found
from jobnaut.app.subscriptions import mail
from jobnaut.app.subscriptions.models import StatusSubscription
from jobnaut.config import BackendSettings, parse_database_url

log = logging.getLogger("jobnaut.subscriptions")


@dataclass(frozen=True)
class Subscriber:
    email: str
    unsubscribe_token: str

    def unsubscribe_url(self, public_url: str) -> str:
        return mail.unsubscribe_url(public_url.rstrip("/"), self.unsubscribe_token)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def subscribe(*, db: Session, settings: BackendSettings, email: str) -> None:
    """Record (or renew) a pending subscription and mail the confirmation link.

    Answers the same whether or not the address was known, so the form reveals nothing.
    """
    if not settings.smtp_url:
        raise ApiError(503, "mail_unavailable", "status notices by email are not set up here")
    email = email.strip().lower()
    confirm = secrets.token_urlsafe(32)
    row = db.scalar(select(StatusSubscription).where(StatusSubscription.email == email))
    if row is None:
        row = StatusSubscription(email=email, unsubscribe_token=secrets.token_urlsafe(32),
                                 confirm_token_hash=_hash(confirm))
        db.add(row)
    elif row.confirmed_at is not None and row.unsubscribed_at is None:
        return  # already subscribed: nothing to confirm
    else:
        row.confirm_token_hash, row.unsubscribed_at = _hash(confirm), None
        row.confirmed_at = None
    db.flush()
    body = ("Someone (we hope you) asked for JobNaut's status notices at this address.\n"
            f"To confirm, open: {mail.confirm_url(settings.public_url, confirm)}\n"
            "If it was not you, ignore this mail: nothing will be sent.")
    unsubscribe = mail.unsubscribe_url(settings.public_url, row.unsubscribe_token)
    try:
        mail.send(settings.smtp_url, mail.message(
            settings.mail_from, email, "Confirm JobNaut status notices", body, unsubscribe))
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("confirmation mail not sent: %s", type(exc).__name__)
        raise ApiError(503, "mail_unavailable",
                       "the confirmation mail could not be sent; please try again later"
                       ) from None


def confirm(*, db: Session, token: str) -> str:
    row = db.scalar(select(StatusSubscription)
                    .where(StatusSubscription.confirm_token_hash == _hash(token)))
    if row is None or row.unsubscribed_at is not None:
        raise not_found("subscription")
    if row.confirmed_at is None:
        row.confirmed_at = func.now()
    return row.email


def unsubscribe(*, db: Session, token: str) -> str:
    """Stops the notices; the row stays (with the time), so a repeat click still answers."""
    row = db.scalar(select(StatusSubscription)
                    .where(StatusSubscription.unsubscribe_token == token))
    if row is None:
        raise not_found("subscription")
    if row.unsubscribed_at is None:
        row.unsubscribed_at = func.now()
    return row.email


def confirmed_subscribers_in(db: Session) -> list[Subscriber]:
    rows = db.execute(select(StatusSubscription.email, StatusSubscription.unsubscribe_token)
                      .where(StatusSubscription.confirmed_at.is_not(None),
                             StatusSubscription.unsubscribed_at.is_(None))
                      .order_by(StatusSubscription.id)).all()
    return [Subscriber(email, token) for email, token in rows]


def confirmed_subscribers(database_url: str | URL) -> list[Subscriber]:
    """For the control plane (ops/comms): who gets external notices, each with the token
    for the unsubscribe link that every notice must carry."""
    url = parse_database_url(database_url) if isinstance(database_url, str) else database_url
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            return confirmed_subscribers_in(db)
    finally:
        engine.dispose()
