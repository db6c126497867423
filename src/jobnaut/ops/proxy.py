"""The traffic switch: a small reverse proxy that the control plane drives (see
docs/adr/0001-traffic-switch.md).

It listens on the environment's public ports and forwards each request to the private port
of the release that is live for that service. The control plane changes the route through
a local admin port; the change applies to the next request, and requests already in flight
finish on the process that took them. Routes are also written to `run/routes.json`, so a
restarted proxy comes back with the same routes.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from http.cookiejar import Cookie, CookieJar, CookiePolicy
from pathlib import Path
from typing import Any

import httpx
from starlette.types import Receive, Scope, Send

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-length",
}
MAX_BODY = 10 * 1024 * 1024  # requests larger than this are refused (413), not buffered


class ClientGone(Exception):
    """The client disconnected before its request body was complete: forward nothing."""


class BodyTooLarge(Exception):
    pass
ADMIN_PREFIX = "/routes"


class _NoCookies(CookiePolicy):
    """Refuses to store or send any cookie: they pass through the proxy untouched."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = False

    def set_ok(self, cookie: Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Cookie, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


class TrafficSwitch:
    """The ASGI app: which port a request came in on says which service it is for."""

    def __init__(self, ports: dict[int, str], admin_port: int, routes_file: Path):
        self.ports = ports  # public port → service name
        self.admin_port = admin_port
        self.routes_file = routes_file
        self.routes: dict[str, str | None] = {service: None for service in ports.values()}
        if routes_file.exists():
            self.routes.update(json.loads(routes_file.read_text()))
        self.client = httpx.AsyncClient(
            # A proxy must never remember cookies: a jar would hand one user's session to
            # every later request that comes without cookies of its own.
            cookies=CookieJar(policy=_NoCookies()),
            timeout=httpx.Timeout(60.0, connect=5.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        port = scope["server"][1] if scope.get("server") else None
        if port == self.admin_port:
            await self._admin(scope, receive, send)
        elif port in self.ports:
            await self._forward(self.ports[port], scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "PUT" and scope["path"] == ADMIN_PREFIX:
            body = await _read_body(receive)
            update = json.loads(body or b"{}")
            for service, upstream in update.items():
                if service in self.routes:
                    self.routes[service] = upstream
            self._persist()
        await _respond(send, 200, json.dumps(self.routes).encode(), "application/json")

    def _persist(self) -> None:
        temp = self.routes_file.with_suffix(".tmp")
        temp.write_text(json.dumps(self.routes))
        os.replace(temp, self.routes_file)

    async def _forward(self, service: str, scope: Scope, receive: Receive, send: Send) -> None:
        if self.routes.get(service) is None:
            await _maintenance(send, service)
            return
        try:
            body = await _read_body(receive)
        except ClientGone:
            return
        except BodyTooLarge:
            await _respond(send, 413, _error("too_large", "request body too large"),
                           "application/json")
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                   if k.decode("latin-1").lower() not in HOP_BY_HOP]
        client = scope.get("client")
        if client:
            headers.append(("x-forwarded-for", client[0]))
        headers.append(("x-forwarded-proto", scope.get("scheme", "http")))
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            path += "?" + scope["query_string"].decode("latin-1")
        outcome = await self._send_upstream(service, scope["method"], path, headers, body)
        if isinstance(outcome, int):
            if outcome == 503:
                await _maintenance(send, service)
            else:
                message = "the live release took too long" if outcome == 504 else \
                    "the live release is not answering"
                await _respond(send, outcome, _error("bad_gateway", message), "application/json")
            return
        response = outcome
        try:
            await send({
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                            for k, v in response.headers.multi_items()
                            if k.lower() not in HOP_BY_HOP],
            })
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    async def _send_upstream(self, service: str, method: str, path: str,
                             headers: list[tuple[str, str]],
                             body: bytes) -> httpx.Response | int:
        """The upstream's response, or the status to answer with: 503 (nothing live), 504
        (too slow), 502 (no answer)."""
        # A connection refused means the request never reached a process, so it is safe to
        # send again, to whatever is live by then (the route may have just switched). Only
        # requests that change nothing are retried after the connection broke mid-way.
        for attempt in range(20):
            upstream = self.routes.get(service)
            if upstream is None:
                return 503
            request = self.client.build_request(method, upstream + path, headers=headers,
                                                content=body)
            try:
                return await self.client.send(request, stream=True)
            except httpx.ConnectError:
                pass
            except httpx.TimeoutException:
                return 504
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                if method not in ("GET", "HEAD", "OPTIONS"):
                    return 502
            except httpx.TransportError:
                return 502
            await asyncio.sleep(0.05 * (attempt + 1))
        return 502


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


async def _maintenance(send: Send, service: str) -> None:
    await _respond(send, 503, _error(
        "maintenance", f"JobNaut's {service} is down for maintenance; try again shortly"),
        "application/json", retry_after=True)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes, content_type: str,
                   retry_after: bool = False) -> None:
    headers = [(b"content-type", content_type.encode()),
               (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", b"5"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def serve(ports: dict[int, str], admin_port: int, routes_file: Path) -> None:
    import uvicorn

    app = TrafficSwitch(ports, admin_port, routes_file)
    sockets = [_listen(port) for port in (*ports, admin_port)]
    config = uvicorn.Config(app, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=30,
                            server_header=False, date_header=False)  # the upstream's pass through
    asyncio.run(uvicorn.Server(config).serve(sockets=sockets))


def set_routes(admin_port: int, routes: dict[str, str | None]) -> dict[str, Any]:
    response = httpx.put(f"http://127.0.0.1:{admin_port}{ADMIN_PREFIX}", json=routes, timeout=5)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def get_routes(admin_port: int) -> dict[str, Any] | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{admin_port}{ADMIN_PREFIX}", timeout=2)
    except httpx.TransportError:
        return None
    result: dict[str, Any] = response.json()
    return result
