"""What a page needs from the app: settings, the backend API as this visitor, meta data."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx
from fastapi import Request

from jobnaut.config import FrontendSettings
from jobnaut.web.api_client import BackendApi, BackendError, BackendUnavailable
from jobnaut.web.models import Meta
from jobnaut.web.session import require_token, token_of


@dataclass
class WebState:
    """Everything the running app shares between requests (kept on `app.state.web`)."""

    settings: FrontendSettings
    http: httpx.AsyncClient | None = None
    meta: Meta | None = field(default=None)


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def settings_of(request: Request) -> FrontendSettings:
    return web_state(request).settings


def _http(request: Request) -> httpx.AsyncClient:
    http = web_state(request).http
    if http is None:  # only outside the lifespan, e.g. a misconfigured test
        raise BackendUnavailable("HTTP client not started")
    return http


# However many backend calls a page makes (in parallel where it can), together they may
# take this long at most: a hanging backend then costs a visitor 3 s, once, and the page
# shows what it can. API_TIMEOUT_SECONDS, when shorter, bounds it further.
PAGE_BUDGET_SECONDS = 3.0


def page_deadline(request: Request) -> float:
    """When this request's budget for backend calls runs out (set by its first call)."""
    deadline: float | None = getattr(request.state, "api_deadline", None)
    if deadline is None:
        timeout = settings_of(request).api_timeout
        # A form the user sent (sign-up hashes a password, slow by design) gets the
        # whole API timeout; pages that only read give up sooner and show the banner.
        reading = request.method in ("GET", "HEAD")
        budget = min(PAGE_BUDGET_SECONDS, timeout) if reading else timeout
        deadline = request.state.api_deadline = time.monotonic() + budget
    return deadline


def api(request: Request) -> BackendApi:
    """The backend API as this visitor: with their token when they are signed in."""
    return BackendApi(_http(request), token_of(request), page_deadline(request))


def user_api(request: Request, next_path: str | None = None) -> BackendApi:
    """The backend API as a signed-in user; sends anyone else to sign in first."""
    token = require_token(request, next_path)
    return BackendApi(_http(request), token, page_deadline(request))


def known_meta(request: Request) -> Meta:
    """The meta data if already known, else the contract's own lists (asks nothing)."""
    return web_state(request).meta or Meta()


async def meta(request: Request) -> Meta:
    """Experience levels and statuses, asked once and then kept.

    If the backend cannot say, the contract's own lists stand in (not kept, so a later
    request asks again).
    """
    state = web_state(request)
    if state.meta is None:
        try:
            state.meta = await api(request).meta()
        except BackendError:
            return Meta()
    return state.meta
