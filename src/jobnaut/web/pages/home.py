"""The home page: a search box, and recommendations for a signed-in user."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from jobnaut.web.api_client import BackendUnavailable
from jobnaut.web.deps import user_api
from jobnaut.web.errors import degraded_page
from jobnaut.web.models import Recommendation
from jobnaut.web.rendering import render
from jobnaut.web.session import token_of

router = APIRouter(tags=["home"])

RECOMMENDATIONS = 6


@router.get("/")
async def home(request: Request) -> Response:
    recommendations: list[Recommendation] | None = None
    if token_of(request):
        try:
            recommendations = await user_api(request).recommendations(limit=RECOMMENDATIONS)
        except BackendUnavailable as exc:
            # The home page is the way back in: it always renders, with the banner.
            return degraded_page(request, "home.html", {"recommendations": None}, exc,
                                 status_code=200)
    return render(request, "home.html", {"recommendations": recommendations})
