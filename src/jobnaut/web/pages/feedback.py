"""What users tell us and what we tell them: "report a problem" (recorded per release by
the backend) and email subscriptions to status notices (double opt-in)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from jobnaut.web.api_client import BackendError, BackendUnavailable
from jobnaut.web.deps import api
from jobnaut.web.errors import degraded_page
from jobnaut.web.rendering import render
from jobnaut.web.session import safe_next

router = APIRouter(tags=["feedback"])

MAX_REPORT = 2000
ACTIONS = {  # what a token link does: (page title, button, done message)
    "confirm": ("Confirm status notices", "Confirm my subscription",
                "Subscribed: {email} will get JobNaut's status notices."),
    "unsubscribe": ("Stop status notices", "Unsubscribe",
                    "Unsubscribed: {email} will get no more status notices."),
}


def _form(request: Request, template: str, context: dict[str, Any],
          error: BackendError | str | None = None, status_code: int = 200) -> Response:
    """The form again, with what was typed; while the backend is out, with its banner."""
    if isinstance(error, BackendUnavailable):
        return degraded_page(request, template, {**context, "error": error.message}, error)
    message = error.message if isinstance(error, BackendError) else error
    return render(request, template, {**context, "error": message}, status_code=status_code)


@router.get("/report")
async def report_form(request: Request, page: str = "/") -> Response:
    return _form(request, "feedback/report.html", {"page": safe_next(page), "message": ""})


@router.post("/report")
async def report(request: Request, page: str = Form("/"), message: str = Form("")) -> Response:
    back = safe_next(page)
    context = {"page": back, "message": message}
    text = message.strip()
    if len(text) < 3 or len(text) > MAX_REPORT:
        return _form(request, "feedback/report.html", context,
                     f"Describe the problem in 3 to {MAX_REPORT} characters.", 422)
    try:
        await api(request).report_problem(back, text)
    except BackendError as exc:
        return _form(request, "feedback/report.html", context, exc, exc.status)
    return RedirectResponse(back + ("&" if "?" in back else "?") + "notice=report_sent",
                            status_code=303)


@router.get("/subscribe")
async def subscribe_form(request: Request) -> Response:
    return _form(request, "feedback/subscribe.html", {"email": "", "sent": False})


@router.post("/subscribe")
async def subscribe(request: Request, email: str = Form("")) -> Response:
    email = email.strip()
    context: dict[str, Any] = {"email": email, "sent": False}
    if "@" not in email:
        return _form(request, "feedback/subscribe.html", context,
                     "Enter your email address, like name@example.com.", 422)
    try:
        await api(request).subscribe(email)
    except BackendError as exc:
        return _form(request, "feedback/subscribe.html", context, exc, exc.status)
    return render(request, "feedback/subscribe.html", {**context, "sent": True, "error": None})


def _token_page(request: Request, action: str, token: str, *, done: str | None = None,
                error: BackendError | str | None = None, status_code: int = 200) -> Response:
    title, button, _ = ACTIONS[action]
    context = {"title": title, "button": button, "action": action, "token": token,
               "done": done}
    return _form(request, "feedback/token.html", context, error, status_code)


async def _token_action(request: Request, action: str, token: str) -> Response:
    try:
        email = await api(request).subscription(action, token)
    except BackendError as exc:
        if exc.status in (404, 422):
            return _token_page(request, action, token, status_code=404,
                               error="This link is not valid (any more). Please use the "
                                     "link in the latest mail, or subscribe again.")
        return _token_page(request, action, token, error=exc, status_code=exc.status)
    return _token_page(request, action, token, done=ACTIONS[action][2].format(email=email))


def _token_routes(action: str, path: str) -> None:
    """GET shows the button (a scanner opening the mail's link changes nothing); POST acts."""

    async def show(request: Request, token: str = "") -> Response:
        return _token_page(request, action, token)

    async def act(request: Request, token: str = Form("")) -> Response:
        return await _token_action(request, action, token)

    router.add_api_route(path, show, methods=["GET"], name=f"{action}_page")
    router.add_api_route(path, act, methods=["POST"], name=action)


_token_routes("confirm", "/subscribe/confirm")
_token_routes("unsubscribe", "/unsubscribe")
