"""Liveness, readiness and version: for the control plane, not for people."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from jobnaut.web.api_client import BackendError
from jobnaut.web.deps import api, settings_of
from jobnaut.web.rendering import STATIC_DIR

router = APIRouter(tags=["system"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers. Asks nothing of the backend."""
    return {"status": "ok"}


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    """Readiness: the backend this frontend reads from answers its own /health."""
    try:
        await api(request).health()
    except BackendError as exc:
        reason = getattr(exc, "reason", None) or f"backend answered {exc.status}: {exc.message}"
        return JSONResponse(
            {"status": "unavailable", "reason": f"backend: {reason}",
             "checks": {"backend": reason}},
            status_code=503,
        )
    return JSONResponse({"status": "ready", "checks": {"backend": "ok"}})


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text, for loopback callers only (the control plane, a local scraper):
    behind the switch a user's address is the forwarded one, never loopback."""
    if request.client is None or request.client.host not in ("127.0.0.1", "::1"):
        return Response("Not found", status_code=404, media_type="text/plain")
    return Response(request.app.state.metrics.render(),
                    media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/version")
async def version(request: Request) -> dict[str, str]:
    settings = settings_of(request)
    return {"service": "frontend", "release": settings.release, "commit": settings.commit}


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> FileResponse:
    """Browsers ask for it at the root whatever the page says; a day in their cache."""
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})
