"""Independent waits side by side: probes, process stops. Threads, since each waits on I/O
(an HTTP answer, a process's exit), never on Python work."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def each(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`function` of every item at once; the results in the items' order. The first error
    raised is raised here, after every call has ended."""
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        futures = [pool.submit(function, item) for item in items]
        return [future.result() for future in futures]
