"""Prometheus metrics: requests by route and status, a latency histogram, and the
database as the backend sees it (connections checked out of the pool, query times, slow
queries)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A query slower than this is counted as slow (the plan's "database performance").
SLOW_QUERY_SECONDS = 0.2


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

    def watch_database(self, engine: Engine) -> None:
        """Export the pool's use and every statement's time, read from the engine's events."""
        pool: Any = engine.pool
        in_use = Gauge("jobnaut_db_pool_checked_out", "Connections in use by requests",
                       registry=self.registry)
        in_use.set_function(lambda: float(pool.checkedout()) if hasattr(pool, "checkedout")
                            else 0.0)
        size = Gauge("jobnaut_db_pool_size", "Connections the pool keeps",
                     registry=self.registry)
        size.set_function(lambda: float(pool.size()) if hasattr(pool, "size") else 0.0)
        queries = Histogram("jobnaut_db_query_duration_seconds", "Time of one SQL statement",
                            registry=self.registry,
                            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 5))
        slow = Counter("jobnaut_db_slow_queries", f"SQL statements slower than "
                       f"{SLOW_QUERY_SECONDS} s", registry=self.registry)

        def started(conn: Any, *_: Any) -> None:
            conn.info.setdefault("jobnaut_query_started", []).append(time.perf_counter())

        def finished(conn: Any, *_: Any) -> None:
            stack = conn.info.get("jobnaut_query_started")
            if not stack:
                return
            seconds = time.perf_counter() - stack.pop()
            queries.observe(seconds)
            if seconds >= SLOW_QUERY_SECONDS:
                slow.inc()

        def failed(context: Any) -> None:  # a statement that raised is timed too
            if context.connection is not None:
                finished(context.connection)

        event.listen(engine, "before_cursor_execute", started)
        event.listen(engine, "after_cursor_execute", finished)
        event.listen(engine, "handle_error", failed)

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
