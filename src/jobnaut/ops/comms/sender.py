"""The detached sender: delivers the outbox and watches open incidents, then exits."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import time
from pathlib import Path

from jobnaut.ops import pids
from jobnaut.ops.comms import incidents, notify
from jobnaut.ops.comms.settings import NotifySettings
from jobnaut.ops.context import Env


def run_sender(env: Env, settings: NotifySettings, *, idle_exit: float = 5.0,
               tick: float = 0.5) -> int:
    """Deliver due notices and watch open incidents (escalations, overdue updates) until
    nothing is pending for `idle_exit` seconds. One sender per home at a time: a second
    one waits for the lock, then looks again (so a notice enqueued just as the first one
    was leaving is still sent)."""
    lock_path = env.home.run / "notify.lock"
    env.home.run.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _pid_file(env).write_text(json.dumps({"pid": os.getpid(),
                                              "start_ticks": pids.start_ticks(os.getpid())}))
        try:
            return _loop(env, settings, idle_exit, tick)
        finally:
            _pid_file(env).unlink(missing_ok=True)


def stop_sender(env: Env) -> bool:
    """Stop a running sender (`down`); what it had not sent stays in the outbox."""
    try:
        record = json.loads(_pid_file(env).read_text())
        pid, ticks = int(record["pid"]), record.get("start_ticks")
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not pids.exists(pid) or (ticks is not None and pids.start_ticks(pid) != ticks):
        return False
    os.kill(pid, signal.SIGTERM)
    return True


def _pid_file(env: Env) -> Path:
    return env.home.run / "notify.pid"


def _loop(env: Env, settings: NotifySettings, idle_exit: float, tick: float) -> int:
    sent, idle_since = 0, time.monotonic()
    while True:
        incidents.watch(env, settings)
        sent += notify.deliver_due(env, settings)
        busy = any(n.status == "pending" for n in notify.store(env).notices(limit=200)) or \
            incidents.needs_watching(env, settings)
        if busy:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= idle_exit:
            return sent
        time.sleep(tick)
