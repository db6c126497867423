"""Prometheus metrics: requests by route and status, and a latency histogram."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    def __init__(self) -> None:
        # One registry per app, so that several apps in one process (tests) never collide.
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "jobnaut_http_requests", "HTTP requests handled", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "jobnaut_http_request_duration_seconds", "Time to answer an HTTP request",
            ["method", "route"], registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts each request under its route template (`/api/jobs/{job_id}`), not the raw path,
    so that the number of series stays bounded."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    # The router records the route it matched in the scope. Walking app.router.routes
    # instead finds FastAPI's included-router wrappers, which have no path template, and
    # must never fall back to the raw path (one series per job id).
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"
