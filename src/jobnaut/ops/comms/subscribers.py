"""Users who subscribed to status notices in the web app (double opt-in) receive the
`users` audience's notices by e-mail, one mail each with its own unsubscribe link.

Who they are and how to mail them comes from the active release's configuration: its
database (the confirmed subscriptions), SMTP_URL, MAIL_FROM and PUBLIC_URL. Without
SMTP_URL nobody is mailed. Like every notice, these never block or fail an operation: a
database that cannot be read is recorded and the notice goes to the other channels."""

from __future__ import annotations

from typing import Any

from jobnaut.ops.context import Env

SUBSCRIBERS = "subscribers"  # the built-in channel these notices are queued on


def _mail_settings(env: Env) -> dict[str, str] | None:
    config = env.config_of(env.current_config_id())
    if not config.get("SMTP_URL") or not config.get("DATABASE_URL"):
        return None
    return config


def subscriber_emails(env: Env) -> list[str]:
    """The confirmed subscribers to queue a notice for ([] when mail is not set up)."""
    config = _mail_settings(env)
    if config is None:
        return []
    from jobnaut.app.subscriptions.service import confirmed_subscribers

    try:
        return [s.email for s in confirmed_subscribers(config["DATABASE_URL"])]
    except Exception as exc:  # the database mid-rollback, or older than subscriptions
        env.ledger.event(f"status subscribers not notified: their list cannot be read "
                         f"({type(exc).__name__})", level="warning")
        return []


class Mailer:
    """One delivery round's view of the subscribers: their list is read once per round,
    not once per mail."""

    def __init__(self, env: Env):
        self.config = _mail_settings(env)
        self._current: dict[str, Any] | None = None
        self._problem: str | None = None

    def _subscribers(self) -> dict[str, Any] | None:
        if self._current is None and self._problem is None and self.config is not None:
            from jobnaut.app.subscriptions.service import confirmed_subscribers

            try:
                self._current = {s.email: s for s in
                                 confirmed_subscribers(self.config["DATABASE_URL"])}
            except Exception as exc:
                self._problem = f"the subscriber list cannot be read ({type(exc).__name__})"
        return self._current

    def deliver(self, email: str, subject: str, body: str) -> str | None:
        """Mail one subscriber; None when sent (or no longer subscribed: nothing to do),
        else why not, without the server's credentials."""
        if self.config is None:
            return "SMTP_URL is not set"
        current = self._subscribers()
        if current is None:
            return self._problem
        subscriber = current.get(email)
        if subscriber is None:
            return None  # unsubscribed after the notice was queued: they get nothing more
        from jobnaut.app.subscriptions import mail

        public_url = self.config.get("PUBLIC_URL") or "http://127.0.0.1:8080"
        message = mail.message(self.config.get("MAIL_FROM") or "status@jobnaut.invalid",
                               email, subject, body, subscriber.unsubscribe_url(public_url))
        try:
            mail.send(self.config["SMTP_URL"], message)
        except Exception as exc:  # refused, unreachable, timed out: retried with backoff
            return f"mail to a subscriber failed ({type(exc).__name__})"
        return None
