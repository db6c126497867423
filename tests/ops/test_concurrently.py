"""concurrently.each: calls side by side, results in order, errors not swallowed."""

from __future__ import annotations

import threading

import pytest

from jobnaut.ops import concurrently


def test_calls_run_side_by_side_and_results_keep_the_items_order() -> None:
    # Each call waits for all three at a barrier: one after another, the first would
    # time out there.
    barrier = threading.Barrier(3, timeout=5)

    def wait_then_square(n: int) -> int:
        barrier.wait()
        return n * n

    assert concurrently.each(wait_then_square, [3, 1, 2]) == [9, 1, 4]


def test_an_error_is_raised_after_every_call_ended() -> None:
    ended: list[int] = []
    barrier = threading.Barrier(2, timeout=5)

    def fail_on_one(n: int) -> int:
        barrier.wait()
        if n == 1:
            raise ValueError("one failed")
        ended.append(n)
        return n

    with pytest.raises(ValueError, match="one failed"):
        concurrently.each(fail_on_one, [1, 2])
    assert ended == [2]


def test_no_items_and_one_item_need_no_thread() -> None:
    assert concurrently.each(lambda n: n, []) == []
    assert concurrently.each(lambda _: threading.current_thread().name, [0]) == \
        [threading.current_thread().name]
