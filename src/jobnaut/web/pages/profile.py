"""Profile editing: name, location, experience level and skills."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from jobnaut.web.api_client import BackendError, BackendUnavailable
from jobnaut.web.deps import meta, user_api
from jobnaut.web.errors import degraded_page
from jobnaut.web.forms import split_skills
from jobnaut.web.models import Profile
from jobnaut.web.rendering import render
from jobnaut.web.session import safe_next, with_notice

router = APIRouter(tags=["profile"])


@router.get("/profile")
async def show(request: Request) -> Response:
    me = user_api(request)
    user, info = await asyncio.gather(me.me(), meta(request))
    return render(
        request,
        "account/profile.html",
        {
            "email": user.email,
            "profile": user.profile,
            "skills_text": ", ".join(user.profile.skills),
            "levels": info.experience_levels,
            "error": None,
            "field_errors": {},
        },
    )


@router.post("/profile")
async def update(
    request: Request,
    full_name: str = Form(""),
    location: str = Form(""),
    experience_level: str = Form(""),
    skills: str = Form(""),
    onboarding: str = Form(""),
    next: str = Form(""),
) -> Response:
    """Saves the profile: from the profile page, or from the first-run questions after
    sign-up (`onboarding`), which then go on to `next` with recommendations."""
    template = "account/welcome.html" if onboarding else "account/profile.html"
    me = user_api(request, next_path="/welcome" if onboarding else "/profile")
    info = await meta(request)
    outage: BackendUnavailable | None = None
    profile = Profile(
        full_name=full_name.strip() or None,
        location=location.strip() or None,
        experience_level=experience_level or None,
        skills=split_skills(skills),
    )
    problems: dict[str, str] = {}
    if profile.experience_level and profile.experience_level not in info.experience_levels:
        problems["experience_level"] = "Choose one of the listed experience levels."
    if not problems:
        try:
            await me.update_profile(profile)
        except BackendUnavailable as exc:
            outage, error = exc, exc.message
        except BackendError as exc:
            if exc.status == 401:
                raise
            problems = exc.field_messages()
            error = exc.message
        else:
            done = safe_next(next, "/") if onboarding else "/profile"
            return RedirectResponse(with_notice(done, "profile_saved"), status_code=303)
    else:
        error = "Please correct the highlighted fields."
    context = {
        "email": None,
        "profile": profile,
        "skills_text": skills,
        "levels": info.experience_levels,
        "error": error,
        "field_errors": problems,
        "next": safe_next(next, "/"),
    }
    if outage:  # what was typed stays in the form, to send again
        return degraded_page(request, template, context, outage)
    return render(request, template, context, status_code=422)


@router.get("/welcome")
async def welcome(request: Request, next: str = "/") -> Response:
    """After sign-up: three questions (skills, level, location) so that the first
    recommendations and match scores mean something. Every one can be skipped."""
    user, info = await asyncio.gather(user_api(request, next_path="/welcome").me(),
                                      meta(request))
    return render(request, "account/welcome.html", {
        "profile": user.profile, "skills_text": ", ".join(user.profile.skills),
        "levels": info.experience_levels, "error": None, "field_errors": {},
        "next": safe_next(next, "/")})
