"""What a page needs from the app: settings, the backend API as this visitor, meta data."""

from __future__ import annotations

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


def api(request: Request) -> BackendApi:
    """The backend API as this visitor: with their token when they are signed in."""
    return BackendApi(_http(request), token_of(request))


def user_api(request: Request, next_path: str | None = None) -> BackendApi:
    """The backend API as a signed-in user; sends anyone else to sign in first."""
    return BackendApi(_http(request), require_token(request, next_path))


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
