"""The error responses the API documents in OpenAPI, in the one shape it sends them.

Every route lists the failures it can answer with, so a client (or schemathesis) can rely
on the document: a status not listed is a bug.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[FieldProblem] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


_MEANING = {
    401: "not signed in, or the token is invalid or expired",
    403: "refused: the confirmation (e.g. the current password) is not right",
    404: "no such resource (or not yours)",
    409: "conflicts with the current state (e.g. the email is taken)",
    422: "the request is not valid (which fields, and why)",
    429: "too many attempts; retry after the seconds in Retry-After",
    503: "busy; retry after the seconds in Retry-After",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying",
                                "schema": {"type": "integer"}}}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entries for these error statuses."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {"model": ErrorOut, "description": _MEANING[status]}
        if status in (429, 503):
            entry["headers"] = _RETRY_AFTER
        documented[status] = entry
    return documented
