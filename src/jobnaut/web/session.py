"""The signed-in session: the backend's bearer token kept in an HttpOnly cookie.

The frontend holds no session state of its own. The cookie carries the token the backend
issued at sign-in; the backend decides whether it is still good (a 401 from it signs the
visitor out here too).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import Request
from starlette.responses import Response

COOKIE_NAME = "jobnaut_token"
COOKIE_MAX_AGE = 60 * 60 * 24 * 14  # two weeks; the backend may expire the token sooner


class SignInRequired(Exception):
    """Raised by a page that needs a user; answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


def secure_cookies(request: Request) -> bool:
    """Whether cookies get `Secure` (and so the `__Host-` prefix): the site is on HTTPS."""
    secure: bool = request.app.state.web.settings.secure_cookies
    return secure


def cookie_name(base: str, secure: bool) -> str:
    # `__Host-`: the browser accepts the cookie only when Secure, for path "/" and without
    # a Domain, so neither a sibling subdomain nor a plain-HTTP response can plant it.
    return f"__Host-{base}" if secure else base


def session_cookie(request: Request) -> str:
    return cookie_name(COOKIE_NAME, secure_cookies(request))


def token_of(request: Request) -> str | None:
    token = request.cookies.get(session_cookie(request), "").strip()
    return token or None


def require_token(request: Request, next_path: str | None = None) -> str:
    """The visitor's token, or `SignInRequired` to send them to sign in first."""
    token = token_of(request)
    if token is None:
        raise SignInRequired(next_path or current_path(request))
    return token


def current_path(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


def safe_next(raw: str | None, default: str = "/") -> str:
    """Only same-site paths may be redirect targets (no open redirects)."""
    if not raw:
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not raw.startswith("/") or raw.startswith("//"):
        return default
    if "\\" in raw or any(ord(ch) < 32 for ch in raw):
        return default
    return raw


def with_notice(path: str, notice: str) -> str:
    """`path` asking its page to show one of the fixed notices (rendering.NOTICES)."""
    return path + ("&" if "?" in path else "?") + "notice=" + notice


def signin_url(next_path: str) -> str:
    return "/signin?next=" + quote(safe_next(next_path), safe="/")


def set_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        session_cookie(request),
        token,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        session_cookie(request),
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
