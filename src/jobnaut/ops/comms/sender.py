"""The detached sender: delivers the outbox and watches open incidents, then exits."""

from __future__ import annotations

import fcntl
import time

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
