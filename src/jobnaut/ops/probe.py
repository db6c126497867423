"""One plain-HTTP request: the control plane's frequent probes of the services' private
ports (a process's /health while it starts, readiness in `status`, a report count), and
the traffic switch's admin API on its Unix socket.

The standard library's `http.client` does it with nothing to import and no TLS context to
build: an `httpx` call costs ~25 ms of certificate loading before its first byte, and a
start polls /health a dozen times while two processes compete for the same cores
(ADR 0015). The checks that sign in, search and save keep their `httpx` client.
"""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def get(url: str, timeout: float) -> Answer | None:
    """The answer to `GET url`, or None when nothing answers (refused, reset, timed out).
    Only `http://`: a private port never speaks TLS, and a public one that does goes through
    the checks' client."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"a probe is plain HTTP: {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _exchange(http.client.HTTPConnection(parts.hostname, parts.port or 80,
                                                timeout=timeout), "GET", target)


def over_unix_socket(path: str, method: str, target: str, timeout: float,
                     body: bytes | None = None) -> Answer | None:
    """`method target` to the HTTP server listening on the Unix socket at `path`, or None
    when nothing answers there."""
    return _exchange(_UnixConnection(path, timeout), method, target, body)


def _exchange(connection: http.client.HTTPConnection, method: str, target: str,
              body: bytes | None = None) -> Answer | None:
    headers = {"Connection": "close"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, response.read())
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def answers_ok(url: str, timeout: float) -> bool:
    """Whether `GET url` answers 200."""
    answer = get(url, timeout)
    return answer is not None and answer.status == 200
