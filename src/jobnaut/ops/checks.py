"""Checks run before a release takes traffic, after every switch, and by `jobnaut health`.

Flows run as a dedicated check account whose password lives in the home (mode 0600); the
only data they write is that account's own, and `save_job` removes what it saved.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import ssl
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobnaut.ops import probe
from jobnaut.ops.environment import Home

if TYPE_CHECKING:  # imported when a check runs: the CLI and the guard load this module early
    import httpx


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    ok: bool
    detail: str
    latency_ms: float
    critical: bool = True

    def as_json(self) -> dict[str, object]:
        return asdict(self)


class CheckFailed(Exception):
    pass


def _timed(name: str, probe: Callable[[], str], critical: bool = True) -> CheckOutcome:
    import httpx

    started = time.perf_counter()
    try:
        detail, ok = probe(), True
    except CheckFailed as exc:
        detail, ok = str(exc), False
    except httpx.TransportError as exc:
        detail, ok = f"not answering ({type(exc).__name__})", False
    except (ValueError, KeyError) as exc:
        detail, ok = f"unexpected answer ({exc})", False
    return CheckOutcome(name, ok, detail, round((time.perf_counter() - started) * 1000, 1),
                        critical)


def _expect(response: httpx.Response, *statuses: int) -> httpx.Response:
    if response.status_code not in statuses:
        message = response.text[:200]
        with contextlib.suppress(ValueError, KeyError, TypeError):
            message = response.json()["error"]["message"]
        raise CheckFailed(f"{response.request.method} {response.request.url.path} answered "
                          f"{response.status_code}: {message}")
    return response


def check_account(home: Home) -> tuple[str, str]:
    path = home.root / "check-account.json"
    if not path.exists():
        data = {"email": f"check-{home.config.name}@jobnaut-monitoring.example.com",
                "password": secrets.token_urlsafe(24)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out)
    data = json.loads(path.read_text())
    return data["email"], data["password"]


def _liveness(client: httpx.Client, base: str) -> str:
    _expect(client.get(f"{base}/health"), 200)
    return "answers /health"


def _readiness(client: httpx.Client, base: str, compatible_schema: str | None = None) -> str:
    params = {"compatible_schema": compatible_schema} if compatible_schema else None
    response = client.get(f"{base}/health/ready", params=params)
    return _ready_verdict(response.status_code, response.json)


def _ready_verdict(status: int, payload: Callable[[], Any]) -> str:
    """What /health/ready's answer says: "ready", or CheckFailed naming the failing checks."""
    if status != 200:
        try:
            body = payload()
        except ValueError:
            body = None
        # Anything but the object readiness sends names no check.
        checks = body.get("checks") if isinstance(body, dict) else None
        if not isinstance(checks, dict):
            checks = {}
        failing = [f"{name}: {c.get('detail', c) if isinstance(c, dict) else c}"
                   for name, c in checks.items()
                   if not (isinstance(c, dict) and c.get("ok")) and c != "ok"]
        raise CheckFailed("not ready: " + ("; ".join(failing) or f"HTTP {status}"))
    return "ready"


def _endpoint(client: httpx.Client, url: str, expect: int) -> str:
    _expect(client.get(url), expect)
    return f"HTTP {expect}"


def _live_and_ready(client: httpx.Client, base: str) -> str:
    _liveness(client, base)
    return _readiness(client, base)


@cache
def _tls_context(extra_ca: Path | None) -> ssl.SSLContext:
    """The system's trust store, plus the operator's own certificate when the switch serves
    one (a self-signed or private-CA certificate). Built once per process: it costs ~20 ms."""
    context = ssl.create_default_context()
    if extra_ca is not None:
        context.load_verify_locations(cafile=str(extra_ca))
    return context


def http_client(home: Home | None, timeout: float) -> httpx.Client:
    """An HTTP client for checks: the private ports are plain HTTP, the public ones HTTPS
    when the switch serves TLS."""
    import httpx

    switch = home.config.switch if home is not None else None
    return httpx.Client(timeout=timeout,
                        verify=_tls_context(switch.certificate if switch else None))


def not_ready(base: str, timeout: float) -> str | None:
    """Why the service at `base` (a private port: plain HTTP) is not ready, or None when it
    is. A probe, not a client: `status` asks this of every process (ADR 0015)."""
    answer = probe.get(f"{base}/health/ready", timeout)
    if answer is None:
        return "not answering"
    try:
        _ready_verdict(answer.status, answer.json)
    except CheckFailed as exc:
        return str(exc)
    return None


def _sign_in(client: httpx.Client, api: str, home: Home) -> str:
    email, password = check_account(home)
    response = client.post(f"{api}/api/auth/signin", json={"email": email, "password": password})
    if response.status_code == 401:
        response = client.post(f"{api}/api/auth/signup",
                               json={"email": email, "password": password})
        _expect(response, 201)
    else:
        _expect(response, 200)
    token: str = response.json()["token"]
    _expect(client.get(f"{api}/api/me", headers={"authorization": f"Bearer {token}"}), 200)
    return token


def _search(client: httpx.Client, api: str) -> int:
    data = _expect(client.get(f"{api}/api/jobs", params={"q": "engineer", "per_page": 5}),
                   200).json()
    if not isinstance(data.get("items"), list):
        raise CheckFailed("search answered without a list of jobs")
    return int(data["total"])


def _save_job(client: httpx.Client, api: str, token: str) -> str:
    auth = {"authorization": f"Bearer {token}"}
    jobs = _expect(client.get(f"{api}/api/jobs", params={"per_page": 1}), 200).json()["items"]
    if not jobs:
        return "no jobs to save (empty database); skipped"
    job_id = jobs[0]["id"]
    for item in _expect(client.get(f"{api}/api/saved", headers=auth), 200).json()["items"]:
        if item["job"]["id"] == job_id:  # left over from an interrupted check
            _purge(client, f"{api}/api/saved/{item['id']}", auth)
    saved = _expect(client.post(f"{api}/api/saved", json={"job_id": job_id}, headers=auth),
                    201).json()
    _expect(client.patch(f"{api}/api/saved/{saved['id']}", json={"status": "applied"},
                         headers=auth), 200)
    _purge(client, f"{api}/api/saved/{saved['id']}", auth)
    return f"saved, moved and removed job {job_id}"


def _purge(client: httpx.Client, url: str, auth: dict[str, str]) -> None:
    # For good, not onto the undo shelf: a row left behind would count in the next
    # restore report as written since the backup, beside the users' own writes.
    _expect(client.delete(url, params={"permanently": "true"}, headers=auth), 204)


def release_checks(home: Home, backend: str, frontend: str,
                   compatible_schema: str | None = None) -> list[CheckOutcome]:
    """Everything a release must pass before it takes traffic (private URLs). With
    `compatible_schema`, the backend may run on that newer, expand-only revision."""
    from jobnaut.ops import concurrently

    cfg = home.config
    bases = {"backend": backend, "frontend": frontend}

    def probes(http: httpx.Client) -> list[CheckOutcome]:
        results = _live_and_ready_checks(http, backend, frontend, compatible_schema)
        for endpoint in cfg.endpoints:
            url = bases[endpoint.service] + endpoint.path
            results.append(_timed(endpoint.name,
                                  partial(_endpoint, http, url, endpoint.expect)))
        return results

    # Two lanes side by side: the flows depend on each other (sign in, then save a job),
    # and their sign-in is the server's slowest answer (argon2); the probes depend on
    # nothing. httpx's client is safe to share between threads.
    with http_client(home, cfg.check_timeout) as http:
        lanes = concurrently.each(lambda lane: lane(http),
                                  [probes, lambda client: _flows(client, home, backend)])
    return lanes[0] + lanes[1]


def readiness_checks(home: Home, backend: str, frontend: str) -> list[CheckOutcome]:
    """Liveness and readiness of each service (readiness times a real query and compares
    the schema): what can have changed on a warm release since it passed every check."""
    with http_client(home, home.config.check_timeout) as http:
        return _live_and_ready_checks(http, backend, frontend, None)


def _live_and_ready_checks(http: httpx.Client, backend: str, frontend: str,
                           compatible_schema: str | None) -> list[CheckOutcome]:
    results = []
    for service, base in (("backend", backend), ("frontend", frontend)):
        results.append(_timed(f"{service} liveness", partial(_liveness, http, base)))
        results.append(_timed(f"{service} readiness",
                              partial(_readiness, http, base, compatible_schema)))
    return results


def _flows(client: httpx.Client, home: Home, api: str) -> list[CheckOutcome]:
    results = []
    token: list[str] = []
    flows = home.config.flows

    if "sign_in" in flows or "save_job" in flows:
        def sign_in() -> str:
            token.append(_sign_in(client, api, home))
            return "check account signed in"
        results.append(_timed("flow: sign in", sign_in))
    if "search" in flows:
        results.append(_timed("flow: search", lambda: f"{_search(client, api)} jobs match"))
    if "save_job" in flows:
        def save_job() -> str:
            if not token:
                raise CheckFailed("needs a signed-in check account")
            return _save_job(client, api, token[0])
        results.append(_timed("flow: save a job", save_job))
    return results


def appendix_c(home: Home, env: dict[str, str]) -> list[CheckOutcome]:
    """The plan's Appendix C checklist, through the public ports (what users reach)."""
    cfg = home.config
    api, web = cfg.public_url("backend"), cfg.public_url("frontend")
    results: list[CheckOutcome] = []
    with http_client(home, cfg.check_timeout) as http:
        def authentication() -> str:
            _sign_in(http, api, home)
            return "check account signs in"
        results.append(_timed("authentication service", authentication))

        def database() -> str:
            checks = http.get(f"{api}/health/ready").json().get("checks", {})
            db = checks.get("database", {})
            if not db.get("ok"):
                raise CheckFailed(db.get("detail", "backend reports no database check"))
            return str(db.get("detail"))
        results.append(_timed("database connectivity", database))
        results.extend(_integrations(http, env))
        for name, base in (("backend", api), ("frontend", web)):
            results.append(_timed(f"health endpoints: {name}",
                                  partial(_live_and_ready, http, base)))
        for endpoint in cfg.endpoints:
            base = api if endpoint.service == "backend" else web
            results.append(_timed(f"user-facing: {endpoint.name}",
                                  partial(_endpoint, http, base + endpoint.path,
                                          endpoint.expect)))
    return results


def integrations(env: dict[str, str], timeout: float) -> list[CheckOutcome]:
    """The external integrations of one configuration snapshot (Appendix C), on their own:
    what the guard probes during a bake window."""
    with http_client(None, timeout) as client:
        return _integrations(client, env)


def _integrations(client: httpx.Client, env: dict[str, str]) -> list[CheckOutcome]:
    results = []
    feed = env.get("JSEARCH_API_URL")
    if feed:
        def job_feed() -> str:
            response = client.get(feed.rstrip("/") + "/search",
                                  params={"query": "engineer", "page": 1, "num_pages": 1},
                                  headers={"X-RapidAPI-Key": env.get("JSEARCH_API_KEY", "")})
            if response.status_code in (401, 403):
                raise CheckFailed("job-feed API rejected the key")
            _expect(response, 200)
            return "job-feed API answers"
        results.append(_timed("external API: job feed", job_feed))
    else:
        results.append(CheckOutcome("external API: job feed", True, "not configured", 0.0,
                                    critical=False))
    clerk = "configured (verified offline with CLERK_JWT_KEY)" if env.get(
        "CLERK_SECRET_KEY") else "not configured"
    results.append(CheckOutcome("external API: Clerk sign-in", True, clerk, 0.0, critical=False))
    return results


def failures(results: list[CheckOutcome]) -> list[CheckOutcome]:
    return [r for r in results if r.critical and not r.ok]


def summary(results: list[CheckOutcome]) -> str:
    failed = failures(results)
    if not failed:
        return f"{len(results)} checks passed"
    return "; ".join(f"{r.name}: {r.detail}" for r in failed)


def log_errors(path: Path, limit: int = 5) -> list[str]:
    """Recent error lines of a service log (for the `identify` step)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    hits = [line for line in lines if any(w in line for w in ("ERROR", "Traceback", "Error:"))]
    return hits[-limit:]
