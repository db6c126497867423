"""One operation at a time per environment.

The lock is an flock on a file in the home: the kernel releases it when the holder dies,
so a killed `jobnaut` can never leave the environment locked. The file's content names
the holder, for the message a second operation prints.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

from jobnaut.ops import pids
from jobnaut.ops.errors import OpsError


def holder(path: Path) -> dict[str, object] | None:
    """Who holds the lock now, or None. Reads the holder's note without touching the lock
    (taking it, even briefly, would make a real operation fail): the note is emptied when
    an operation ends, and a note whose process is gone was left by a killed one."""
    try:
        text = path.read_text()
    except OSError:
        return None
    try:
        info: dict[str, object] = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return None
    pid = info.get("pid")
    if not isinstance(pid, int) or not pids.exists(pid):
        return None
    return info


# Locks this process holds, by path: an action that takes the lock may call another that
# takes it too (an emergency freezes deploys; a deploy proves rollback readiness).
_held: dict[Path, int] = {}

# The guard's housekeeping (a dead process restarted, a warm release retired) holds the lock
# for seconds: an operator's command that meets it waits this long rather than being
# refused, and the guard never waits for an operator (it tries again on its next round).
BRIEF_WAIT_SECONDS = 60.0
_brief = False


@contextmanager
def brief() -> Iterator[None]:
    """Locks taken inside are marked brief: whoever meets them waits (`BRIEF_WAIT_SECONDS`)."""
    global _brief
    before, _brief = _brief, True
    try:
        yield
    finally:
        _brief = before


@contextmanager
def operation_lock(path: Path, description: dict[str, object]) -> Iterator[None]:
    key = path.absolute()
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    if _brief:
        description = {**description, "brief": True}
    with _flock(path, description), _cluster_lease(path, description):
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]


@contextmanager
def _cluster_lease(path: Path, description: dict[str, object]) -> Iterator[None]:
    """On a cluster (the swarm driver) the lock file guards one operator's machine only:
    the operation also holds a lease in the cluster (ADR 0012)."""
    from jobnaut.ops.environment import CONFIG_NAME, load_home

    root = path.parent.parent  # the lock is in the home's run/
    if not (root / CONFIG_NAME).is_file() or "kind = \"swarm\"" not in \
            (root / CONFIG_NAME).read_text():
        yield
        return
    from jobnaut.ops.drivers.swarm_lease import cluster_lease

    with cluster_lease(load_home(root), str(description.get("kind", "?"))):
        yield


P = ParamSpec("P")
R = TypeVar("R")


def locked_action(kind: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """An action that changes the environment runs under its lock, whoever calls it: the
    CLI, another action, or a future guard process (the lock lives in ops, not the CLI)."""

    def decorate(action: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(action)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            env: Any = args[0]  # every action takes the environment first
            with operation_lock(env.home.lock_path, {"kind": kind, "operation": "-"}):
                return action(*args, **kwargs)

        return run

    return decorate


@contextmanager
def _flock(path: Path, description: dict[str, object]) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        info = _take_or_wait_for_brief(handle)
        if info is not None:
            raise OpsError(
                f"another operation is running: {info.get('kind', '?')} "
                f"#{info.get('operation', '?')} (pid {info.get('pid', '?')}, "
                f"started {info.get('started_at', '?')})",
                hint="wait for it to finish; `jobnaut status` shows its progress",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({**description, "pid": os.getpid()}))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()  # the note goes with the lock
    finally:
        handle.close()  # closing the file releases the flock


def _take_or_wait_for_brief(handle: IO[str]) -> dict[str, Any] | None:
    """Take the flock: None when taken, else the holder's note. A brief holder (the guard's
    housekeeping) is waited for; an operation is not."""
    deadline = time.monotonic() + BRIEF_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return None
        except BlockingIOError:
            handle.seek(0)
            try:
                info: dict[str, Any] = json.loads(handle.read() or "{}")
            except json.JSONDecodeError:
                info = {}
        if _brief or not info.get("brief") or time.monotonic() >= deadline:
            return info
        time.sleep(0.05)
