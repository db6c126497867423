"""One place that turns failures into plain pages (or JSON for enhanced requests).

Nothing here ever shows a traceback: the backend's 4xx messages are shown as they are,
everything else gets one clear sentence and the right status code.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from jobnaut.web.api_client import BackendError, BackendUnavailable
from jobnaut.web.rendering import render
from jobnaut.web.session import SignInRequired, clear_session, current_path, signin_url

log = logging.getLogger("jobnaut.web")

GENERIC_MESSAGES = {
    404: "We could not find that page.",
    405: "That page does not take this kind of request.",
    500: "Something went wrong on our side. Please try again in a minute.",
}
TITLES = {
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    409: "Already done",
    503: "Service unavailable",
}


# How long a client should wait before trying again when the backend is out: about the
# time a rollback or a restart takes.
RETRY_AFTER_SECONDS = 30


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def error_page(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": {"message": message}}, status_code=status)
    title = TITLES.get(status, "Something went wrong" if status >= 500 else "Request refused")
    return render(
        request, "error.html", {"title": title, "message": message, "status": status},
        status_code=status,
    )


def _return_path(request: Request) -> str:
    """Where to come back to after signing in: this page, or for a form post, its page."""
    if request.method in ("GET", "HEAD"):
        return current_path(request)
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path:
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return "/"


async def on_sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    if wants_json(request):
        return JSONResponse({"error": {"message": "Please sign in."}}, status_code=401)
    return RedirectResponse(signin_url(exc.next_path), status_code=303)


def degraded_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    exc: BackendUnavailable,
    status_code: int = 503,
) -> Response:
    """A page shown while the backend is out: the site's shell with the outage banner and
    whatever the page could keep (the search form, what the user typed), never a bare 503.
    """
    response = render(request, template, {**context, "outage": exc.message},
                      status_code=status_code)
    if status_code == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


async def on_backend_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BackendUnavailable)
    if wants_json(request):
        response: Response = JSONResponse(
            {"error": {"code": exc.code, "message": exc.message}}, status_code=503
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return degraded_page(request, "outage.html", {"title": "Not available right now"}, exc)


async def on_backend_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BackendError)
    if exc.status == 401:
        # The backend no longer accepts the token (expired or signed out elsewhere).
        response: Response
        if wants_json(request):
            response = JSONResponse({"error": {"message": exc.message}}, status_code=401)
        else:
            response = RedirectResponse(signin_url(_return_path(request)), status_code=303)
        clear_session(request, response)
        return response
    return error_page(request, exc.status, exc.message)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if exc.status_code not in GENERIC_MESSAGES else None
    return error_page(
        request, exc.status_code, message or GENERIC_MESSAGES.get(exc.status_code, "Error.")
    )


async def on_invalid_request(request: Request, exc: Exception) -> Response:
    return error_page(request, 400, "Some of what was sent is not valid. Please check the form.")


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_page(request, 500, GENERIC_MESSAGES[500])


def install(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.add_exception_handler(BackendUnavailable, on_backend_unavailable)
    app.add_exception_handler(BackendError, on_backend_error)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(Exception, on_unexpected)
