"""Readiness: may this process take traffic? Each check is reported by name."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from jobnaut.app import schema
from jobnaut.app.deps import AppState
from jobnaut.app.models import ENCRYPTED_COLUMNS


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    latency_ms: float


def _timed(name: str, probe: Callable[[], tuple[bool, str]]) -> Check:
    started = time.perf_counter()
    try:
        ok, detail = probe()
    except SQLAlchemyError as exc:
        ok, detail = False, f"database error: {type(getattr(exc, 'orig', None) or exc).__name__}"
    return Check(name, ok, detail, round((time.perf_counter() - started) * 1000, 2))


def run_checks(state: AppState, compatible_schema: str | None = None) -> list[Check]:
    def database() -> tuple[bool, str]:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True, f"{state.engine.dialect.name} reachable"

    def schema_revision() -> tuple[bool, str]:
        expected = schema.serving_expected_revision()
        current = schema.current_revision(state.engine)
        if current == compatible_schema and current != expected:
            return True, f"at {current}, newer than this code's {expected} (expand-only)"
        if current != expected:
            return False, f"database is at {current or 'no revision'}, code expects {expected}"
        return True, f"at {expected}"

    def configuration() -> tuple[bool, str]:
        # Settings were validated at start; what is left is whether the configured keys
        # still read the data already stored (a key dropped instead of rotated). The oldest
        # and newest values of every encrypted column are tried: old rows are the ones an
        # old key wrote.
        unreadable = 0
        with state.sessions() as session:
            for column, key in ENCRYPTED_COLUMNS:
                for order in (key.asc(), key.desc()):
                    values = session.scalars(
                        select(column).where(column.is_not(None)).order_by(order).limit(5))
                    unreadable += sum(1 for v in values
                                      if v is not None and not state.cipher.can_decrypt(v))
        if unreadable:
            return False, "ENCRYPTION_KEY cannot decrypt stored personal data"
        return True, "valid"

    checks = [_timed("database", database)]
    if checks[0].ok:
        checks.append(_timed("schema", schema_revision))
        checks.append(_timed("configuration", configuration))
    return checks
