"""The release a code rollback leaves, kept warm for `[rollback] keep_warm_seconds` so that
going forward again is a switch too (ADR 0018).

Its processes take the role `rolled_back` with a time (`warm_until`): out of traffic, never
restarted by the guard (which restarts `live` processes only), never a default rollback
target (the release is marked rolled back; history.previous_good skips it), and stopped
when the time is up by the guard, or by the next switch or `up`, whichever comes first.
Kept only while a guard runs: nothing else would stop them on time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobnaut.ops.context import Env
from jobnaut.ops.guard import process as guard
from jobnaut.ops.ledger import ProcessRecord

ROLE = "rolled_back"


def why_not_kept(env: Env) -> str | None:
    """Why a rollback stops the release it leaves at once (None: it is kept warm)."""
    config = env.home.config
    if config.rollback_keep_warm <= 0:
        return "[rollback] keep_warm_seconds = 0"
    if not (config.guard.enabled and guard.running(env.home)):
        return "no guard runs to stop it when its time is up"
    return None


def keep(env: Env, process: ProcessRecord) -> str:
    """Keep one leaving process warm until its time; returns that time (UTC)."""
    until = datetime.now(UTC) + timedelta(seconds=env.home.config.rollback_keep_warm)
    env.ledger.set_process_role(process.id, ROLE, until.isoformat(timespec="seconds"))
    return until.strftime("%H:%M:%S UTC")


def expired(processes: list[ProcessRecord], now: datetime | None = None) -> list[ProcessRecord]:
    """The rolled-back processes among `processes` whose time is up."""
    moment = now or datetime.now(UTC)
    return [p for p in processes if p.role == ROLE
            and (p.warm_until is None or datetime.fromisoformat(p.warm_until) <= moment)]


def label(process: ProcessRecord) -> str:
    """How `status` names its role: `rolled back, warm until 21:14:05 UTC`."""
    if process.role != ROLE or process.warm_until is None:
        return process.role
    until = datetime.fromisoformat(process.warm_until).strftime("%H:%M:%S UTC")
    return f"rolled back, warm until {until}"
