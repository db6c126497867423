"""The mails the subscription flow sends, over plain SMTP (stdlib smtplib), and the links
in them. The control plane's notices use `unsubscribe_url` for the same links."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.policy import SMTP
from urllib.parse import unquote, urlencode, urlsplit

TIMEOUT_SECONDS = 10


def confirm_url(public_url: str, token: str) -> str:
    return f"{public_url}/subscribe/confirm?{urlencode({'token': token})}"


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{public_url}/unsubscribe?{urlencode({'token': token})}"


def message(sender: str, to: str, subject: str, body: str, unsubscribe: str) -> EmailMessage:
    """A plain-text mail that ends with the unsubscribe link, also in List-Unsubscribe."""
    # Headers up to RFC 5322's 998 characters: a folded List-Unsubscribe would be
    # encoded, and mail clients would not find the link in it.
    mail = EmailMessage(policy=SMTP.clone(max_line_length=998))
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail["List-Unsubscribe"] = f"<{unsubscribe}>"
    mail.set_content(f"{body}\n\n--\nTo stop these messages: {unsubscribe}\n")
    return mail


def send(smtp_url: str, mail: EmailMessage) -> None:
    """Send through smtp[s]://[user:password@]host[:port]; raises OSError/SMTPException."""
    url = urlsplit(smtp_url)
    host = url.hostname or "localhost"
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with smtp_class(host, url.port or (465 if url.scheme == "smtps" else 25),
                    timeout=TIMEOUT_SECONDS) as server:
        if url.username:
            server.login(unquote(url.username), unquote(url.password or ""))
        server.send_message(mail)
