"""Whether a process id names a running process (the lock and the process driver ask)."""

from __future__ import annotations

import os
from pathlib import Path


def exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with the pid, it names one
    process, so that a pid reused after a restart is never mistaken for ours."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[19]) if len(fields) > 19 else None


def is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[-1].split()
    return bool(fields) and fields[0] == "Z"


def same_process(pid: int, ticks: int | None) -> bool:
    """True while `pid` still names the process that started at `ticks` (and it has not
    exited): a pid reused by another process is not it."""
    if not exists(pid) or is_zombie(pid):
        return False
    return ticks is None or start_ticks(pid) == ticks


def own_identity() -> tuple[int, int | None]:
    """(pid, start ticks) of this process: names it exactly, for records others check."""
    return os.getpid(), start_ticks(os.getpid())


def group_members(pgid: int) -> list[int]:
    """Live processes in process group `pgid` (from /proc)."""
    members = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(stat_file.parent.name))
    return members
