"""Names for scratch copies (databases, files) that say which process made them.

A scratch copy holds users' data (emails, password hashes) and must never outlive the
operation that made it. Its name carries this host, the creator's pid and its start ticks:
once that exact process is gone the copy is an orphan, and `abandon`/`--resume` remove it —
never a copy whose creator still runs (another operation's)."""

from __future__ import annotations

import hashlib
import re
import socket
import uuid
from dataclasses import dataclass

from jobnaut.ops import pids

# host, pid, start ticks, a random part: `3fa2_81234_991823_5c01e2`
_TAG = re.compile(r"(?P<host>[0-9a-f]{4})_(?P<pid>\d+)_(?P<ticks>\d+)_[0-9a-f]+$")


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:4]


def tag() -> str:
    """A unique name part naming this process (and host) as the creator."""
    pid, ticks = pids.own_identity()
    return f"{_host()}_{pid}_{ticks or 0}_{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Creator:
    host: str
    pid: int
    ticks: int


def creator(name: str) -> Creator | None:
    """Who made the scratch copy called `name`, when its name says so."""
    found = _TAG.search(name)
    if found is None:
        return None
    return Creator(found["host"], int(found["pid"]), int(found["ticks"]))


def orphaned(name: str) -> bool:
    """True for a scratch copy made on this host by a process that is gone."""
    made_by = creator(name)
    if made_by is None or made_by.host != _host():
        return False  # not traceable, or another machine's: not ours to judge
    return not pids.same_process(made_by.pid, made_by.ticks or None)
