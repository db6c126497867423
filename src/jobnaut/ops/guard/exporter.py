"""The guard's figures over HTTP, on the loopback side only: `GET /metrics` answers the
last Prometheus text the guard published (per-release traffic, open alerts, restarts,
database figures). A scraper or `curl` reads it without touching the ledger.

A thread of the guard's own process serves it: the text is replaced whole under a lock,
so a scrape never sees half of one sample and half of the next."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class MetricsServer:
    def __init__(self, port: int):
        self._text = b""
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404, "only /metrics here")
                    return
                body = server.text()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # a scrape every few seconds would fill the guard's log

        # 127.0.0.1 only: the figures name releases and rates, nothing for the outside.
        self._http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True,
                                        name="guard-metrics")

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def publish(self, text: str) -> None:
        with self._lock:
            self._text = text.encode()

    def text(self) -> bytes:
        with self._lock:
            return self._text

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
