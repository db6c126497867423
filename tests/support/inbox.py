"""Real receivers for notices: an SMTP server (aiosmtpd) and an HTTP webhook endpoint,
both on loopback, recording what they get."""

from __future__ import annotations

import email
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.support.processes import free_port


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        parts = self.message.walk() if self.message.is_multipart() else [self.message]
        return "\n".join(str(p.get_payload(decode=True).decode(errors="replace"))
                         for p in parts if p.get_content_maintype() == "text")


@dataclass
class SmtpInbox:
    port: int
    mails: list[Mail] = field(default_factory=list)

    def url(self, sender: str, to: str | None = None) -> str:
        """An Apprise URL that sends through this server."""
        query = f"from={sender}" + (f"&to={to}" if to else "")
        return f"mailto://127.0.0.1:{self.port}?{query}"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.recipients]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos),
                               email.message_from_bytes(envelope.content)))
        return "250 OK"


@contextmanager
def smtp_inbox() -> Iterator[SmtpInbox]:
    inbox = SmtpInbox(free_port())
    # Accepts any login, without TLS: channels whose URL carries a password work here.
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port,
                            authenticator=lambda *args: AuthResult(success=True),
                            auth_require_tls=False)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class WebhookInbox:
    port: int
    posts: list[dict[str, Any]] = field(default_factory=list)
    failing: bool = False  # answer 503, as a chat service having an outage does

    def url(self, path: str = "hook") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"


@contextmanager
def webhook_inbox() -> Iterator[WebhookInbox]:
    inbox = WebhookInbox(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            if inbox.failing:
                self.send_response(503)
                self.end_headers()
                return
            inbox.posts.append({"path": self.path, **json.loads(body or b"{}")})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", inbox.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        server.shutdown()
        server.server_close()


def wait_for(condition: Callable[[], Any], timeout: float = 30, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
