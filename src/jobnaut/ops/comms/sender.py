"""The detached sender: delivers the outbox and watches open incidents, then exits."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jobnaut.ops import pids
from jobnaut.ops.comms import notify, watch
from jobnaut.ops.comms.settings import NotifySettings
from jobnaut.ops.context import Env
from jobnaut.ops.ledger import now


def run_sender(env: Env, settings: NotifySettings, *, idle_exit: float = 5.0,
               tick: float = 0.5) -> int:
    """Deliver due notices and watch open incidents (escalations, overdue updates) until
    nothing is pending for `idle_exit` seconds. One sender per home (a file lock): a
    second one exits at once. Before leaving, the sender looks again once the lock is
    released, so a notice written while it was leaving (whose writer saw the lock held
    and started no sender) is still sent."""
    sent = 0
    while True:
        with _lock(env) as held:
            if not held:
                return sent
            _pid_file(env).write_text(json.dumps(
                {"pid": os.getpid(), "start_ticks": pids.start_ticks(os.getpid())}))
            try:
                sent += _loop(env, settings, idle_exit, tick)
            finally:
                _pid_file(env).unlink(missing_ok=True)
        if not notify.store(env).due_notices(now()):
            return sent


def running(env: Env) -> bool:
    """Whether a sender holds the lock (and will see a notice written now)."""
    with _lock(env) as held:
        return not held


@contextmanager
def _lock(env: Env) -> Iterator[bool]:
    env.home.run.mkdir(parents=True, exist_ok=True)
    with (env.home.run / "notify.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


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
        watch.watch(env, settings)
        sent += notify.deliver_due(env, settings)
        busy = any(n.status == "pending" for n in notify.store(env).notices(limit=200)) or \
            watch.needs_watching(env, settings)
        if busy:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= idle_exit:
            return sent
        time.sleep(tick)


def kick(env: Env) -> None:
    """Start a detached sender (`comms.sender`) unless one runs: a running one sees the
    new notices at its next tick, or in its last look before it leaves."""
    if running(env):
        return
    env.home.run.mkdir(parents=True, exist_ok=True)
    env.home.logs.mkdir(parents=True, exist_ok=True)
    with (env.home.logs / "notify.log").open("ab") as log:
        subprocess.Popen([sys.executable, "-m", "jobnaut", "--home", str(env.home.root),
                          "notify", "send"], stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True,
                         env={**os.environ})
