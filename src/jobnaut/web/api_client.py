"""A typed wrapper over the backend's JSON API.

Every call either returns a parsed model or raises one of two errors:

- `BackendError`: the backend answered 4xx; its message is meant for the person using the
  site ("email already registered") and is shown as is.
- `BackendUnavailable` (a `BackendError` too): no usable answer — the backend is down,
  too slow, answered 5xx, or answered something that does not fit the contract. The
  person sees one plain sentence; the reason goes to the log.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from jobnaut.web.models import (
    AuthResult,
    JobDetail,
    JobPage,
    Match,
    MatchList,
    Me,
    Meta,
    Profile,
    Recommendation,
    RecommendationList,
    SavedJob,
    SavedList,
)

log = logging.getLogger("jobnaut.web.api")

UNAVAILABLE_MESSAGE = (
    "JobNaut's job service is not answering right now. Please try again in a minute."
)
MAINTENANCE_MESSAGE = (
    "JobNaut is down for maintenance for a few minutes. Your data is safe; please try again "
    "shortly."
)

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class FieldError:
    field: str | None
    message: str


class BackendError(Exception):
    """The backend refused a request (4xx). `message` is fit to show to the user."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "error",
        fields: tuple[FieldError, ...] = (),
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.fields = fields

    def field_messages(self) -> dict[str, str]:
        """Field name → message, for showing an error beside its input."""
        return {f.field: f.message for f in self.fields if f.field}


class BackendUnavailable(BackendError):
    """No usable answer from the backend: down, timed out, 5xx, or off-contract."""

    def __init__(self, reason: str, message: str = UNAVAILABLE_MESSAGE):
        super().__init__(503, message, code="backend_unavailable")
        self.reason = reason


def as_sentence(text: str) -> str:
    """'wrong email or password' → 'Wrong email or password.' (API messages are terse)."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _field_errors(raw: object) -> tuple[FieldError, ...]:
    """Read the contract's optional `fields` list, whatever shape its items take."""
    if not isinstance(raw, list):
        return ()
    found = []
    for item in raw:
        if isinstance(item, str):
            found.append(FieldError(None, as_sentence(item)))
        elif isinstance(item, dict):
            name = item.get("field") or item.get("name") or item.get("loc")
            if isinstance(name, list):
                name = str(name[-1]) if name else None
            message = item.get("message") or item.get("msg") or "is not valid"
            found.append(FieldError(str(name) if name else None, as_sentence(str(message))))
    return tuple(found)


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code")) if isinstance(error, dict) else None


def error_from_response(response: httpx.Response) -> BackendError:
    """Turn a non-2xx response into the error the pages handle."""
    if response.status_code >= 500:
        # The traffic switch answers 503 with code "maintenance" while a migration is
        # rolled back: say so, rather than that the service is broken.
        if response.status_code == 503 and _error_code(response) == "maintenance":
            return BackendUnavailable("backend in maintenance", MAINTENANCE_MESSAGE)
        return BackendUnavailable(f"backend answered {response.status_code}")
    code, message = "error", f"The request was refused ({response.status_code})."
    fields: tuple[FieldError, ...] = ()
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = str(error.get("code") or code)
        message = as_sentence(str(error.get("message") or message))
        fields = _field_errors(error.get("fields"))
    return BackendError(response.status_code, message, code=code, fields=fields)


class BackendApi:
    """The backend API as one user (or an anonymous visitor) sees it.

    It borrows a shared `httpx.AsyncClient` (base URL and timeout set by the app) and
    carries the user's bearer token, if any. `deadline` (a `time.monotonic()` instant) is
    the page's budget: every call made for one page shares it, so a hanging backend costs
    the page that budget once, not one timeout per call.
    """

    def __init__(
        self, http: httpx.AsyncClient, token: str | None = None, deadline: float | None = None
    ):
        self._http = http
        self.token = token
        self.deadline = deadline

    def _timeout(self, method: str, path: str) -> Any:
        """What is left of the page's budget (or the client's own timeout)."""
        if self.deadline is None:
            return httpx.USE_CLIENT_DEFAULT
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self._unavailable(f"{method} {path}: the page's time budget is spent")
        default = self._http.timeout.read
        return httpx.Timeout(min(left, default) if default else left)

    # -- plumbing ------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        timeout = self._timeout(method, path)
        try:
            response = await self._http.request(
                method, path, json=json, params=params, headers=headers, timeout=timeout
            )
        except httpx.TimeoutException:
            raise self._unavailable(f"{method} {path}: timed out") from None
        except httpx.HTTPError as exc:
            raise self._unavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        if response.is_success:
            return response
        error = error_from_response(response)
        if isinstance(error, BackendUnavailable):
            log.warning("backend unavailable: %s %s: %s", method, path, error.reason)
        raise error

    @staticmethod
    def _unavailable(reason: str) -> BackendUnavailable:
        log.warning("backend unavailable: %s", reason)
        return BackendUnavailable(reason)

    async def _get(self, model: type[M], path: str, params: dict[str, str] | None = None) -> M:
        return self._parse(model, await self._send("GET", path, params=params))

    def _parse(self, model: type[M], response: httpx.Response) -> M:
        try:
            return model.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            reason = f"{response.request.method} {response.request.url.path}: off-contract: {exc}"
            raise self._unavailable(reason) from None

    # -- system --------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        response = await self._send("GET", "/health")
        try:
            body = response.json()
        except ValueError:
            body = {}
        return body if isinstance(body, dict) else {}

    async def meta(self) -> Meta:
        return await self._get(Meta, "/api/meta")

    # -- accounts ------------------------------------------------------------------------

    async def signup(self, email: str, password: str) -> AuthResult:
        body = {"email": email, "password": password}
        return self._parse(AuthResult, await self._send("POST", "/api/auth/signup", json=body))

    async def signin(self, email: str, password: str) -> AuthResult:
        body = {"email": email, "password": password}
        return self._parse(AuthResult, await self._send("POST", "/api/auth/signin", json=body))

    async def signout(self) -> None:
        await self._send("POST", "/api/auth/signout")

    async def signout_everywhere(self) -> None:
        await self._send("POST", "/api/auth/signout-everywhere")

    async def change_password(self, current: str, new: str) -> None:
        await self._send("POST", "/api/auth/password",
                         json={"current_password": current, "new_password": new})

    async def delete_account(self, password: str) -> None:
        await self._send("POST", "/api/account/delete", json={"password": password})

    async def me(self) -> Me:
        return await self._get(Me, "/api/me")

    async def profile(self) -> Profile:
        return await self._get(Profile, "/api/profile")

    async def update_profile(self, profile: Profile) -> Profile:
        response = await self._send("PUT", "/api/profile", json=profile.model_dump())
        return self._parse(Profile, response)

    # -- jobs ----------------------------------------------------------------------------

    async def search_jobs(self, params: dict[str, str]) -> JobPage:
        return await self._get(JobPage, "/api/jobs", params=params)

    async def job(self, job_id: str) -> JobDetail:
        return await self._get(JobDetail, f"/api/jobs/{job_id}")

    async def match(self, job_id: str) -> Match:
        return await self._get(Match, f"/api/jobs/{job_id}/match")

    async def matches(self, job_ids: list[str]) -> MatchList:
        """The match of each of these jobs (a page of results) in one call."""
        return await self._get(MatchList, "/api/matches", params={"job_ids": ",".join(job_ids)})

    async def recommendations(self, limit: int = 10) -> list[Recommendation]:
        page = await self._get(RecommendationList, "/api/recommendations",
                               params={"limit": str(limit)})
        return page.items

    # -- saved jobs ----------------------------------------------------------------------

    async def saved_jobs(self) -> list[SavedJob]:
        return (await self._get(SavedList, "/api/saved")).items

    async def save_job(self, job_id: str, notes: str | None = None) -> SavedJob:
        body: dict[str, object] = {"job_id": _id_value(job_id)}
        if notes:
            body["notes"] = notes
        return self._parse(SavedJob, await self._send("POST", "/api/saved", json=body))

    async def update_saved(
        self, saved_id: str, *, status: str | None = None, notes: str | None = None
    ) -> SavedJob:
        body: dict[str, object] = {}
        if status is not None:
            body["status"] = status
        if notes is not None:
            body["notes"] = notes
        response = await self._send("PATCH", f"/api/saved/{saved_id}", json=body)
        return self._parse(SavedJob, response)

    async def unsave(self, saved_id: str) -> None:
        await self._send("DELETE", f"/api/saved/{saved_id}")

    async def restore_saved(self, saved_id: str) -> SavedJob:
        return self._parse(SavedJob, await self._send("POST", f"/api/saved/{saved_id}/restore"))

    # -- problem reports and status notices -----------------------------------------------

    async def report_problem(self, page: str, message: str) -> None:
        await self._send("POST", "/api/reports", json={"page": page, "message": message})

    async def subscribe(self, email: str) -> None:
        await self._send("POST", "/api/subscriptions", json={"email": email})

    async def subscription(self, action: str, token: str) -> str:
        """Confirm or unsubscribe ("confirm" / "unsubscribe"); returns the address."""
        response = await self._send("POST", f"/api/subscriptions/{action}",
                                    json={"token": token})
        try:
            return str(response.json()["email"])
        except (ValueError, KeyError, TypeError):
            raise self._unavailable(f"POST /api/subscriptions/{action}: off-contract") from None


def _id_value(raw: str) -> int | str:
    """Ids travel in URLs as text; send numeric ones back as numbers."""
    return int(raw) if raw.isdigit() else raw
