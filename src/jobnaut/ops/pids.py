"""Whether a process id names a running process (the lock and the process driver ask)."""

from __future__ import annotations

import os


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
