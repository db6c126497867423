"""HTTP client for a JSearch-style job-feed API (the RapidAPI "JSearch" shape).

One call fetches one page of postings. Transient failures (connection errors, timeouts,
429 and 5xx) are retried a bounded number of times with exponential backoff; a 429's
Retry-After is respected up to a cap. Every other failure is an error with a message a
person can act on. The API key travels only in the request header: it never appears in
a message, a log line or a repr.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

log = logging.getLogger("jobnaut.importer")

DATE_POSTED = ("all", "today", "3days", "week", "month")


class JSearchError(Exception):
    """The job feed could not be read. The message never holds the API key."""


class ApiKeyRejected(JSearchError):
    pass


class UnexpectedResponse(JSearchError):
    pass


class FeedUnavailable(JSearchError):
    """Transient failures outlasted the retry budget."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # total tries per page, the first included
    backoff: float = 0.5  # seconds before the second try; doubles after each failure
    backoff_max: float = 8.0
    retry_after_max: float = 30.0  # cap on a server's Retry-After

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def delay(self, failures: int) -> float:
        """Backoff after `failures` failed tries, with up to 10% jitter."""
        base = min(self.backoff * 2 ** (failures - 1), self.backoff_max)
        return base * (1 + random.random() / 10)


DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class JSearchClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("no API key given")
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        base = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=base,
            timeout=timeout,
            headers={"X-RapidAPI-Key": api_key, "X-RapidAPI-Host": httpx.URL(base).host,
                     "Accept": "application/json"},
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:  # never show the key
        return f"JSearchClient({self._http.base_url})"

    def __enter__(self) -> JSearchClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def search_page(self, query: str, page: int = 1, *, country: str | None = None,
                    date_posted: str | None = None) -> list[dict[str, Any]]:
        """One page of postings for `query` (an empty list when the feed has no more)."""
        if date_posted is not None and date_posted not in DATE_POSTED:
            raise ValueError(f"date_posted must be one of {', '.join(DATE_POSTED)}")
        params: dict[str, str | int] = {"query": query, "page": page, "num_pages": 1}
        if country:
            params["country"] = country.lower()
        if date_posted:
            params["date_posted"] = date_posted
        response = self._get("/search", params, what=f"page {page}")
        return _postings(response)

    def _get(self, path: str, params: dict[str, str | int], *, what: str) -> httpx.Response:
        policy = self.retry
        for attempt in range(1, policy.attempts + 1):
            try:
                response = self._http.get(path, params=params)
            except httpx.TimeoutException as exc:
                problem = f"timed out ({_timeout_kind(exc)})"
                wait = policy.delay(attempt)
            except httpx.TransportError as exc:
                problem = f"could not connect ({type(exc).__name__})"
                wait = policy.delay(attempt)
            else:
                status = response.status_code
                if status in (401, 403):
                    raise ApiKeyRejected(
                        f"API key rejected by the job feed (HTTP {status}); "
                        "check JSEARCH_API_KEY")
                if status == 429 or status >= 500:
                    problem = f"HTTP {status}"
                    wait = policy.delay(attempt)
                    if status == 429:
                        retry_after = _retry_after(response.headers.get("Retry-After"))
                        if retry_after is not None:
                            wait = min(retry_after, policy.retry_after_max)
                elif status >= 400:
                    raise JSearchError(f"job feed refused the request for {what}: "
                                       f"HTTP {status}{_api_message(response)}")
                elif status >= 300:
                    raise UnexpectedResponse(f"unexpected response from the job feed for "
                                             f"{what}: HTTP {status} redirect")
                else:
                    return response
            if attempt == policy.attempts:
                break
            log.warning("job feed %s: %s; retrying in %.1fs (attempt %d of %d)",
                        what, problem, wait, attempt + 1, policy.attempts)
            self._sleep(wait)
        raise FeedUnavailable(
            f"job feed unavailable for {what}: {problem} "
            f"after {policy.attempts} attempt{'s' if policy.attempts != 1 else ''}")


def _postings(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        raise UnexpectedResponse("unexpected response from the job feed: not JSON") from None
    if not isinstance(body, dict):
        raise UnexpectedResponse("unexpected response from the job feed: not a JSON object")
    status = body.get("status")
    if status is not None and str(status).upper() != "OK":
        raise JSearchError(f"job feed reported an error: {_error_text(body)}")
    data = body.get("data")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise UnexpectedResponse(
            "unexpected response from the job feed: 'data' is not a list of postings")
    return data


def _error_text(body: dict[str, Any]) -> str:
    error = body.get("error")
    message = error.get("message") if isinstance(error, dict) else error
    return str(message or body.get("message") or "no reason given")[:200]


def _api_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return f" ({_error_text(body)})" if isinstance(body, dict) else ""


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _timeout_kind(exc: httpx.TimeoutException) -> str:
    return {
        httpx.ConnectTimeout: "connecting",
        httpx.ReadTimeout: "waiting for the response",
        httpx.WriteTimeout: "sending the request",
        httpx.PoolTimeout: "waiting for a connection",
    }.get(type(exc), "request")
