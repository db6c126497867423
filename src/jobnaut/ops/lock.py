"""One operation at a time per environment.

The lock is an flock on a file in the home: the kernel releases it when the holder dies,
so a killed `jobnaut` can never leave the environment locked. The file's content names
the holder, for the message a second operation prints.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jobnaut.ops.errors import OpsError


def holder(path: Path) -> dict[str, object] | None:
    """Who holds the lock now, or None when nobody does."""
    if not path.exists():
        return None
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            try:
                info: dict[str, object] = json.loads(handle.read() or "{}")
            except json.JSONDecodeError:
                info = {}
            return info
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


@contextmanager
def operation_lock(path: Path, description: dict[str, object]) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            try:
                info = json.loads(handle.read() or "{}")
            except json.JSONDecodeError:
                info = {}
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
        yield
    finally:
        handle.close()  # closing the file releases the flock
