"""Limits on password sign-in and sign-up: per account, per client address, and on how
many password hashes run at once.

Each argon2id hash costs about half a second of one core. Without limits, a few dozen
concurrent bad sign-ins starve every other request of CPU, and an attacker can guess
passwords as fast as the server hashes. The counters live in the backend process: each
release counts for itself, and a restart forgets them, which is a fair trade for having no
shared store (the limits are against floods and online guessing, not a ledger).
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from jobnaut.app.errors import ApiError


class RateLimited(ApiError):
    """429 with the seconds after which a retry may succeed (sent as Retry-After)."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(429, "rate_limited", message,
                         headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


class Busy(ApiError):
    def __init__(self) -> None:
        super().__init__(503, "busy", "too many sign-ins at once; try again in a moment",
                         headers={"Retry-After": "1"})


_SWEEP_ABOVE = 10_000  # keys; past this, forget every key whose events have all expired


@dataclass
class SlidingWindow:
    """At most `limit` events per key within `window` seconds."""

    limit: int
    window: float
    _events: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, key: str) -> float | None:
        """Seconds until `key` may act again, or None when it may act now."""
        now = time.monotonic()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                return None
            self._expire(events, now)
            if not events:
                del self._events[key]
                return None
            if len(events) < self.limit:
                return None
            return events[0] + self.window - now

    def record(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._events) > _SWEEP_ABOVE:  # bounded memory under a spray of keys
                for stale in [k for k, ev in self._events.items() if self._expire(ev, now)]:
                    del self._events[stale]
            events = self._events[key]
            self._expire(events, now)
            events.append(now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def _expire(self, events: deque[float], now: float) -> bool:
        """Drop events older than the window; True when none are left."""
        while events and events[0] <= now - self.window:
            events.popleft()
        return not events


class HashingGate:
    """At most `concurrency` password hashes at once; a request that cannot start one
    within `wait` seconds is answered 503 rather than queued behind a flood."""

    def __init__(self, concurrency: int, wait: float):
        self._slots = threading.BoundedSemaphore(concurrency)
        self._wait = wait

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self._wait):
            raise Busy()
        try:
            yield
        finally:
            self._slots.release()


@dataclass
class Throttle:
    """The limits the accounts routes apply (defaults for production; tests shrink them)."""

    # Wrong passwords for one account: enough for a person who mistypes, far too few to guess.
    account_failures: SlidingWindow = field(
        default_factory=lambda: SlidingWindow(limit=10, window=15 * 60))
    # Sign-in and sign-up attempts from one address (an office behind NAT shares one).
    address_attempts: SlidingWindow = field(
        default_factory=lambda: SlidingWindow(limit=60, window=10 * 60))
    # One hash at a time per backend process leaves the other core to everything else.
    hashing: HashingGate = field(default_factory=lambda: HashingGate(concurrency=1, wait=3.0))

    def check(self, *, account: str | None, address: str) -> None:
        """Raise RateLimited when this address, or this account, is over its limit."""
        wait = self.address_attempts.retry_after(address)
        if wait is not None:
            raise RateLimited("too many attempts from this address; wait and try again", wait)
        if account is not None:
            wait = self.account_failures.retry_after(account)
            if wait is not None:
                raise RateLimited("too many wrong passwords for this account; "
                                  "wait and try again", wait)
        self.address_attempts.record(address)
