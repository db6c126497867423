"""A tiny real HTTP/1.1 upstream that answers every GET with its own name (tests of the
traffic switch). `python -m tests.support.name_server NAME PORT [HOST]`"""

from __future__ import annotations

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_handler(name: str) -> type[BaseHTTPRequestHandler]:
    body = name.encode()

    class NameHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive between the switch and this upstream
        disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stall

        def do_GET(self) -> None:
            if self.path.startswith("/slow"):  # a request still in flight during a switch
                time.sleep(0.5)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # reads the whole body, as an application would
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return NameHandler


def main() -> None:
    name, port = sys.argv[1], int(sys.argv[2])
    host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"  # another loopback address
    server = ThreadingHTTPServer((host, port), make_handler(name))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
