"""Children of the control plane (`jobnaut schema …`, pg_dump, git, uv…) that must never
outlive the operation that started them.

`runner` starts each one in its own process group and asks the kernel to kill it when its
parent dies (PR_SET_PDEATHSIG). In case that is not enough (another OS, a grandchild), each
child is also recorded here while it runs, in the home's run directory: pid and start ticks
of the child and of the `jobnaut` that started it. A record whose parent is gone while its
child still runs names a survivor of an interrupted operation — it may still be migrating
the database: `status` reports it, `--resume` and `abandon` kill it before going on.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from jobnaut.ops import pids

_directory: Path | None = None


def record_in(directory: Path | None) -> None:
    """Record the children this process starts from now on in `directory` (None: stop)."""
    global _directory
    _directory = directory


def directory_of(run_dir: Path) -> Path:
    return run_dir / "children"


@dataclass(frozen=True)
class ChildRecord:
    pid: int
    start_ticks: int | None
    parent_pid: int
    parent_ticks: int | None
    command: str
    path: Path

    def alive(self) -> bool:
        return pids.same_process(self.pid, self.start_ticks)

    def running(self) -> bool:
        """The child, or what it started in its process group, still runs. While any
        member remains, the kernel never reuses the group's id (the child's pid) for
        another process: a group whose leader's pid is free is still the child's."""
        if self.alive():
            return True
        reused = (pids.exists(self.pid) and not pids.is_zombie(self.pid)
                  and pids.start_ticks(self.pid) != self.start_ticks)
        return not reused and bool(pids.group_members(self.pid))

    def orphaned(self) -> bool:
        return not pids.same_process(self.parent_pid, self.parent_ticks)

    def as_json(self) -> dict[str, object]:
        return {"pid": self.pid, "command": self.command, "parent_pid": self.parent_pid}


def started(pid: int, command: str) -> Path | None:
    """Note a child that just started; returns the note to pass to `ended`."""
    if _directory is None:
        return None
    parent_pid, parent_ticks = pids.own_identity()
    ticks = pids.start_ticks(pid)
    note = {"pid": pid, "start_ticks": ticks, "parent_pid": parent_pid,
            "parent_ticks": parent_ticks, "command": command}
    try:
        _directory.mkdir(parents=True, exist_ok=True)
        path = _directory / f"{pid}-{ticks}.json"
        path.write_text(json.dumps(note))
    except OSError:  # a record is a safety net: never a reason for the command to fail
        return None
    return path


def ended(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def records(directory: Path) -> list[ChildRecord]:
    found = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            data = json.loads(path.read_text())
            found.append(ChildRecord(
                pid=int(data["pid"]), start_ticks=data.get("start_ticks"),
                parent_pid=int(data["parent_pid"]), parent_ticks=data.get("parent_ticks"),
                command=str(data.get("command", "?")), path=path))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def survivors(directory: Path) -> list[ChildRecord]:
    """Children still running whose `jobnaut` is gone."""
    return [r for r in records(directory) if r.orphaned() and r.running()]


def kill_survivors(directory: Path, wait: float = 10) -> list[ChildRecord]:
    """Kill (SIGKILL, with their process group) the survivors of dead operations and forget
    records of children that have ended. Returns the survivors that were killed."""
    killed = []
    for record in records(directory):
        if not record.orphaned():
            continue  # its operation still runs: not ours to touch
        if record.running():
            _kill_group(record.pid)
            killed.append(record)
    deadline = time.monotonic() + wait
    while any(r.running() for r in killed) and time.monotonic() < deadline:
        time.sleep(0.05)
    for record in records(directory):
        if record.orphaned() and not record.running():
            ended(record.path)
    return killed


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        # Each child leads its own group (runner starts it so): the group takes the
        # grandchildren with it. A child that left its group is killed alone.
        if not pids.exists(pid) or os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
