from __future__ import annotations

import hmac

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from jobnaut.app import schema
from jobnaut.app.deps import StateDep
from jobnaut.app.errors import not_found
from jobnaut.app.jobs.models import EXPERIENCE_LEVELS
from jobnaut.app.responses import errors
from jobnaut.app.saved.models import ApplicationStatus
from jobnaut.app.system.readiness import run_checks

router = APIRouter(tags=["operations"])


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers. Touches nothing external."""
    return {"status": "ok"}


@router.get("/health/ready", responses={503: {"description": "not ready (which checks fail)"}})
def ready(
    state: StateDep,
    compatible_schema: str | None = Query(
        None, max_length=64, pattern=r"^[0-9A-Za-z_]+$",
        description="a newer schema revision the control plane has found backward-compatible "
                    "(expand-only): the schema check accepts it as well as this code's own"),
) -> JSONResponse:
    checks = run_checks(state, compatible_schema)
    ok = all(c.ok for c in checks)
    body = {
        "status": "ready" if ok else "not_ready",
        "checks": {c.name: {"ok": c.ok, "detail": c.detail, "latency_ms": c.latency_ms}
                   for c in checks},
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/version")
def version(state: StateDep) -> dict[str, str | None]:
    try:
        current = schema.current_revision(state.engine)
    except Exception:  # the version endpoint must answer even when the database does not
        current = None
    return {
        "service": "backend",
        "release": state.settings.release,
        "commit": state.settings.commit,
        "schema_expected": schema.serving_expected_revision(),
        "schema_revision": current,
    }


@router.get("/metrics", response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format"},
                       **errors(404)})
def metrics(request: Request, state: StateDep) -> Response:
    if not may_read_metrics(request, state.settings.metrics_token):
        raise not_found("page")  # as if there were none: nothing to probe for
    return Response(request.app.state.metrics.render(),
                    media_type="text/plain; version=0.0.4; charset=utf-8")


LOOPBACK = frozenset({"127.0.0.1", "::1"})


def may_read_metrics(request: Request, token: str | None) -> bool:
    """Loopback callers (the control plane, a local Prometheus) always; others only with
    METRICS_TOKEN. Behind the traffic switch the client is the X-Forwarded-For address,
    which uvicorn takes from the switch on 127.0.0.1 only, so the public never counts as
    loopback."""
    if request.client is not None and request.client.host in LOOPBACK:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), (token or "").encode())


@router.get("/api/meta")
def meta() -> dict[str, list[str]]:
    return {
        "experience_levels": list(EXPERIENCE_LEVELS),
        "statuses": [s.value for s in ApplicationStatus],
    }
