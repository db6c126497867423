"""Wiring: `create_web_app(settings)` builds the frontend service.

The CLI runs it with uvicorn (`jobnaut serve frontend`); tests and the process driver do
the same. One `httpx.AsyncClient` per app reads the backend at `settings.api_base_url`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from jobnaut import __version__
from jobnaut.app.system.metrics import Metrics, MetricsMiddleware
from jobnaut.config import FrontendSettings
from jobnaut.web import csrf, errors
from jobnaut.web.deps import WebState
from jobnaut.web.pages import account, auth, feedback, home, jobs, profile, saved, system
from jobnaut.web.rendering import STATIC_DIR, make_templates
from jobnaut.web.session import token_of
from jobnaut.web.status_banner import StatusBanner

PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
)
# A year, the usual minimum for browsers' preload lists; sent only when the site is on HTTPS.
HSTS = "max-age=31536000; includeSubDomains"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'self'"
    ),
    # The pages use none of these powerful features; say so, so no injected frame can.
    "Permissions-Policy": PERMISSIONS_POLICY,
}


def create_web_app(settings: FrontendSettings) -> FastAPI:
    state = WebState(settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            base_url=settings.api_base_url,
            timeout=settings.api_timeout,
            headers={"User-Agent": f"jobnaut-frontend/{settings.release}"},
            follow_redirects=False,
        ) as http:
            state.http = http
            try:
                yield
            finally:
                state.http = None

    app = FastAPI(
        title="JobNaut",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf.protect)],  # every form, including ones added later
    )
    app.state.web = state
    app.state.templates = make_templates()
    app.state.templates.env.globals["status_banner"] = StatusBanner(settings.status_file)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Requests by route and status for `/metrics`, as the backend counts them (issue 9).
    app.state.metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if settings.secure_cookies:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if token_of(request) and not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "private, no-store"
        return response

    errors.install(app)
    for router in (system.router, auth.router, home.router, jobs.router, saved.router,
                   profile.router, account.router, feedback.router):
        app.include_router(router)
    return app
