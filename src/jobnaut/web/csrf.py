"""Cross-site request forgery protection for every form the web app accepts.

Two independent checks on each unsafe request (POST and the like):

1. **Origin.** A browser names the page a form was posted from in `Origin` (or, failing
   that, `Referer`). A request from any other site is refused. A request that carries
   neither (an old browser, a privacy proxy) is judged by the token alone.
2. **Token (signed double submit).** Every page sets a random cookie; every form carries
   `csrf_token` = HMAC-SHA256(key = the visitor's session token, message = that cookie).
   A foreign page can make the browser send the cookies, but cannot read them, so it cannot
   write the field. Keying the HMAC with the HttpOnly session token means a cookie planted
   by someone else (a sibling subdomain, plain HTTP) still yields no valid field for a
   signed-in visitor; over HTTPS the cookie also carries the `__Host-` prefix, which such a
   planted cookie cannot. Before sign-in the key is empty, which is the plain double
   submit: enough for the sign-in and sign-up forms, together with the origin check.

The frontend keeps no secret of its own and no server-side state, so any release of it
accepts a form rendered by another (blue/green switches keep working).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from starlette.responses import Response

from jobnaut.web.session import cookie_name, secure_cookies, token_of

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
BASE_NAME = "jobnaut_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
REFUSED = ("This form has expired or was sent from another site. "
           "Go back, reload the page and try again.")


def _cookie(request: Request) -> str:
    return cookie_name(BASE_NAME, secure_cookies(request))


def _expected(request: Request, nonce: str) -> str:
    key = (token_of(request) or "").encode()
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()


def form_token(request: Request) -> str:
    """The value of the hidden field for forms on this page (sets up the cookie's nonce)."""
    nonce = request.cookies.get(_cookie(request)) or getattr(request.state, "csrf_nonce", None)
    if not nonce:
        nonce = secrets.token_urlsafe(32)
        request.state.csrf_nonce = nonce  # `remember` puts it in a cookie on the response
    return _expected(request, nonce)


def remember(request: Request, response: Response) -> None:
    """Set the nonce cookie if this response's forms were given a new one."""
    nonce = getattr(request.state, "csrf_nonce", None)
    if nonce:
        secure = secure_cookies(request)
        response.set_cookie(_cookie(request), nonce, path="/", httponly=True,
                            samesite="lax", secure=secure)


def _same_origin(request: Request) -> bool | None:
    """True/False when the browser said where the request came from; None when it did not."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return None
    own = {request.headers.get("host", ""), request.headers.get("x-forwarded-host", "")}
    return urlsplit(source).netloc in own - {""}  # "null" and foreign origins are refused


async def protect(request: Request) -> None:
    """A dependency of every route: refuse unsafe requests that fail either check."""
    if request.method in SAFE_METHODS:
        return
    if _same_origin(request) is False:
        raise HTTPException(status_code=403, detail=REFUSED)
    nonce = request.cookies.get(_cookie(request), "")
    sent = request.headers.get(HEADER, "")
    if not sent:
        form = await request.form()  # cached by Starlette: the route reads it again
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else ""
    if not nonce or not sent or not hmac.compare_digest(sent, _expected(request, nonce)):
        raise HTTPException(status_code=403, detail=REFUSED)
