"""Account settings: change the password, delete the account."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from jobnaut.web.api_client import BackendError, BackendUnavailable
from jobnaut.web.deps import user_api
from jobnaut.web.errors import degraded_page
from jobnaut.web.rendering import render
from jobnaut.web.session import clear_session

router = APIRouter(tags=["account"])

TEMPLATE = "account/settings.html"
MIN_PASSWORD = 8


def _page(request: Request, *, status_code: int = 200, **context: object) -> Response:
    values: dict[str, object] = {"password_error": None, "delete_error": None,
                                 "field_errors": {}}
    values.update(context)
    return render(request, TEMPLATE, values, status_code=status_code)


@router.get("/account")
async def settings(request: Request) -> Response:
    user_api(request)  # signed-in only
    return _page(request)


@router.post("/account/password")
async def change_password(
    request: Request, current_password: str = Form(""), new_password: str = Form(""),
) -> Response:
    me = user_api(request, next_path="/account")
    if not current_password or len(new_password) < MIN_PASSWORD:
        problems = {}
        if not current_password:
            problems["current_password"] = "Enter your current password."
        if len(new_password) < MIN_PASSWORD:
            problems["new_password"] = f"Choose a password of at least {MIN_PASSWORD} characters."
        return _page(request, status_code=422, field_errors=problems,
                     password_error="Please correct the highlighted fields.")
    try:
        await me.change_password(current_password, new_password)
    except BackendUnavailable as exc:
        return degraded_page(request, TEMPLATE, {"password_error": exc.message,
                                                 "delete_error": None, "field_errors": {}}, exc)
    except BackendError as exc:
        if exc.status == 401:
            raise
        problems = exc.field_messages()
        if exc.code == "wrong_password":
            problems = {"current_password": "That is not your current password."}
        return _page(request, status_code=exc.status, field_errors=problems,
                     password_error=exc.message)
    return RedirectResponse("/account?notice=password_changed", status_code=303)


@router.post("/account/delete")
async def delete_account(request: Request, password: str = Form("")) -> Response:
    me = user_api(request, next_path="/account")
    if not password:
        return _page(request, status_code=422, delete_error="Enter your password to confirm.",
                     field_errors={"delete_password": "Enter your password to confirm."})
    try:
        await me.delete_account(password)
    except BackendUnavailable as exc:
        return degraded_page(request, TEMPLATE, {"password_error": None,
                                                 "delete_error": exc.message,
                                                 "field_errors": {}}, exc)
    except BackendError as exc:
        if exc.status == 401:
            raise
        message = ("That is not your password: nothing was deleted."
                   if exc.code == "wrong_password" else exc.message)
        return _page(request, status_code=exc.status, delete_error=message,
                     field_errors={"delete_password": message})
    response = RedirectResponse("/?notice=account_deleted", status_code=303)
    clear_session(request, response)
    return response
