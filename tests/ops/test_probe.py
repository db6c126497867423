"""The plain-HTTP probe the control plane polls with: real servers on loopback and on a Unix
socket, answers as they come, and nothing at all told apart from an error answer."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jobnaut.ops import probe


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 503 if self.path.startswith("/health/ready") else 200
        body = json.dumps({"path": self.path, "host": self.headers["Host"]}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def server() -> Iterator[str]:
    http = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{http.server_address[1]}"
    http.shutdown()
    http.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_answers_with_status_body_and_query(server: str) -> None:
    answer = probe.get(f"{server}/health/ready?compatible_schema=0004", 2)
    assert answer is not None and answer.status == 503
    assert answer.json()["path"] == "/health/ready?compatible_schema=0004"
    assert probe.answers_ok(f"{server}/health", 2)
    assert not probe.answers_ok(f"{server}/health/ready", 2)


def test_nothing_answering_is_none_not_an_error() -> None:
    assert probe.get(f"http://127.0.0.1:{_closed_port()}/health", 1) is None
    assert not probe.answers_ok(f"http://127.0.0.1:{_closed_port()}/health", 1)


def test_a_silent_server_times_out_as_none() -> None:
    with socket.socket() as listener:  # accepts (the kernel's backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        assert probe.get(f"http://127.0.0.1:{listener.getsockname()[1]}/health", 0.3) is None


def test_only_plain_http() -> None:
    with pytest.raises(ValueError, match="plain HTTP"):
        probe.get("https://127.0.0.1:1/health", 1)
    with pytest.raises(ValueError, match="plain HTTP"):
        probe.get("/health", 1)


def test_over_a_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "admin.sock"
    unix = _UnixServer(str(path), _Handler)
    threading.Thread(target=unix.serve_forever, daemon=True).start()
    try:
        answer = probe.over_unix_socket(str(path), "POST", "/load", 2, body=b'{"x": 1}')
        assert answer is not None and answer.status == 200 and answer.json() == {"x": 1}
        got = probe.over_unix_socket(str(path), "GET", "/config/", 2)
        assert got is not None and got.json()["host"] == "localhost"
    finally:
        unix.shutdown()
        unix.server_close()
    assert probe.over_unix_socket(str(tmp_path / "gone.sock"), "GET", "/config/", 1) is None
