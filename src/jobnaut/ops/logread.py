"""Reading the services' and the switch's logs for `jobnaut logs`: the last lines, the
lines since a time, and new lines as they are written (`--follow`)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

POLL_SECONDS = 0.25


def line_time(line: str) -> datetime | None:
    """When a line was written: a service line starts with its ISO time; a line of the
    switch's logs is JSON with `ts` in seconds. None for a line that carries no time (a
    traceback's continuation): it belongs with the line before it."""
    if line.startswith("{"):
        try:
            stamp = json.loads(line).get("ts")
        except (ValueError, AttributeError):
            return None
        return datetime.fromtimestamp(stamp, UTC) if isinstance(stamp, (int, float)) else None
    head = line.split(" ", 1)[0]
    if len(head) < 19 or head[4] != "-" or head[10] != "T":
        return None
    try:
        parsed = datetime.fromisoformat(head.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def since(lines: Iterable[str], start: datetime) -> Iterator[str]:
    """The lines written at or after `start` (untimed lines go with the line before)."""
    keep = False
    for line in lines:
        stamp = line_time(line)
        if stamp is not None:
            keep = stamp >= start
        if keep:
            yield line


def follow(path: Path, *, start: int | None = None,
           stop: Callable[[], bool] = lambda: False) -> Iterator[str]:
    """New lines of `path` from byte `start` (default: its current end), as they are
    written, until `stop()`. A log that is replaced or truncated (a restart, rotation) is
    read again from its start."""
    handle = path.open("r", errors="replace")
    if start is None:
        handle.seek(0, os.SEEK_END)
    else:
        handle.seek(start)
    pending = ""
    try:
        while not stop():
            chunk = handle.read()
            if chunk:
                pending += chunk
                *complete, pending = pending.split("\n")
                yield from complete
                continue
            if _replaced(path, handle):
                handle.close()
                handle = path.open("r", errors="replace")
                pending = ""
                continue
            time.sleep(POLL_SECONDS)
    finally:
        handle.close()


def _replaced(path: Path, handle: TextIO) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False  # between a removal and its replacement: look again next time
    return on_disk.st_ino != os.fstat(handle.fileno()).st_ino or on_disk.st_size < handle.tell()
