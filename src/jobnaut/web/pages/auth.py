"""Sign up, sign in and sign out."""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from jobnaut.web.api_client import BackendError, BackendUnavailable
from jobnaut.web.deps import api
from jobnaut.web.errors import degraded_page
from jobnaut.web.rendering import render
from jobnaut.web.session import (
    clear_session,
    safe_next,
    set_session,
    token_of,
    with_notice,
)

router = APIRouter(tags=["accounts"])

MIN_PASSWORD = 8


def _form_context(
    email: str, next_path: str, error: str | None, field_errors: dict[str, str] | None
) -> dict[str, object]:
    return {"email": email, "next": next_path, "error": error,
            "field_errors": field_errors or {}, "reason": signin_reason(next_path)}


# Why a page sent the visitor to sign in, said on the sign-in page, by the page's section.
SIGN_IN_REASONS = {
    "/saved": "Sign in to see your saved jobs.",
    "/profile": "Sign in to see and edit your profile.",
    "/account": "Sign in to manage your account.",
    "/welcome": "Sign in to set up your profile.",
    "/jobs": "Sign in to save jobs and see how well each one matches your skills.",
}
JOB_REASON = "Sign in to save this job and see how well your skills match."


def signin_reason(next_path: str) -> str | None:
    path = urlsplit(next_path).path
    if path.startswith("/jobs/"):
        return JOB_REASON
    return SIGN_IN_REASONS.get("/" + path.strip("/").split("/")[0])


def _kept_form(
    request: Request, template: str, email: str, next_path: str, exc: BackendUnavailable
) -> Response:
    """The form again while the backend is out, with what was typed (never the password)."""
    context = _form_context(email, next_path, exc.message, None)
    return degraded_page(request, template, context, exc)


def _form_page(
    request: Request,
    template: str,
    *,
    email: str = "",
    next_path: str = "/",
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(request, template, _form_context(email, next_path, error, field_errors),
                  status_code=status_code)


@router.get("/signup")
async def signup_form(request: Request, next: str = "/") -> Response:
    return _form_page(request, "account/signup.html", next_path=safe_next(next))


@router.post("/signup")
async def signup(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    email, next_path = email.strip(), safe_next(next)
    problems = {}
    if not email or "@" not in email:
        problems["email"] = "Enter your email address, like name@example.com."
    if len(password) < MIN_PASSWORD:
        problems["password"] = f"Choose a password of at least {MIN_PASSWORD} characters."
    if problems:
        return _form_page(
            request, "account/signup.html", email=email, next_path=next_path,
            error="Please correct the highlighted fields.", field_errors=problems,
            status_code=422,
        )
    try:
        result = await api(request).signup(email, password)
    except BackendUnavailable as exc:
        return _kept_form(request, "account/signup.html", email, next_path, exc)
    except BackendError as exc:
        fields = exc.field_messages()
        return _form_page(
            request, "account/signup.html", email=email, next_path=next_path,
            error="Please correct the highlighted fields." if fields else exc.message,
            field_errors=fields, status_code=exc.status,
        )
    # A new account with nowhere in particular to go is asked about skills, level and
    # location first; one that was on its way somewhere (a job to save) goes there.
    first_stop = "/welcome" if next_path == "/" else next_path
    response = RedirectResponse(with_notice(first_stop, "welcome"), status_code=303)
    set_session(request, response, result.token)
    return response


@router.get("/signin")
async def signin_form(request: Request, next: str = "/") -> Response:
    return _form_page(request, "account/signin.html", next_path=safe_next(next))


@router.post("/signin")
async def signin(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    email, next_path = email.strip(), safe_next(next)
    if not email or not password:
        return _form_page(
            request, "account/signin.html", email=email, next_path=next_path,
            error="Enter your email address and password.", status_code=422,
        )
    try:
        result = await api(request).signin(email, password)
    except BackendUnavailable as exc:
        return _kept_form(request, "account/signin.html", email, next_path, exc)
    except BackendError as exc:
        return _form_page(
            request, "account/signin.html", email=email, next_path=next_path,
            error=exc.message, field_errors=exc.field_messages(), status_code=exc.status,
        )
    response = RedirectResponse(with_notice(next_path, "signed_in"), status_code=303)
    set_session(request, response, result.token)
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    """Ends the session at the backend, and here whatever the backend says."""
    if token_of(request):
        # The cookie goes anyway: an unreachable backend must not keep anyone signed in.
        with contextlib.suppress(BackendError):
            await api(request).signout()
    response = RedirectResponse("/?notice=signed_out", status_code=303)
    clear_session(request, response)
    return response


@router.post("/signout-everywhere")
async def signout_everywhere(request: Request) -> Response:
    """Ends every session of the account (a lost phone, a shared computer). Unlike a plain
    sign-out, it must not claim success when the backend could not revoke them: the
    visitor stays signed in here and is told to try again."""
    if not token_of(request):
        return RedirectResponse("/signin?next=/profile", status_code=303)
    try:
        await api(request).signout_everywhere()
    except BackendError:
        return RedirectResponse("/profile?notice=signout_everywhere_failed", status_code=303)
    response = RedirectResponse("/?notice=signed_out_everywhere", status_code=303)
    clear_session(request, response)
    return response
