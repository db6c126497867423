"""The home page: a search box, and recommendations for a signed-in user."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from jobnaut.web.deps import user_api
from jobnaut.web.models import Recommendation
from jobnaut.web.rendering import render
from jobnaut.web.session import token_of

router = APIRouter(tags=["home"])

RECOMMENDATIONS = 6


@router.get("/")
async def home(request: Request) -> Response:
    recommendations: list[Recommendation] | None = None
    if token_of(request):
        recommendations = await user_api(request).recommendations(limit=RECOMMENDATIONS)
    return render(request, "home.html", {"recommendations": recommendations})
