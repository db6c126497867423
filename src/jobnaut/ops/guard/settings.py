"""The `[guard]` section of jobnaut.toml: every setting, its default, and its check.

Unknown settings are refused: a misspelt threshold would otherwise be silently ignored and
the guard would run on a default nobody chose.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

AUTO_ROLLBACK = ("bake", "always", "never")


@dataclass(frozen=True)
class GuardSettings:
    enabled: bool = True
    # Seconds after every switch during which a breach rolls the release back by itself.
    bake_seconds: float = 120.0
    # Seconds between two looks at the figures (the guard's tick).
    interval: float = 0.5
    # The new release is judged on its last `window_seconds` of traffic; the baseline is the
    # previous release's last `baseline_seconds` before the switch.
    window_seconds: float = 10.0
    baseline_seconds: float = 60.0
    # One-sided confidence of every test, as a normal quantile: 3.7 is about 1 in 10,000
    # per look, so that some hundreds of looks per bake stay quiet on noise.
    confidence_z: float = 3.7
    # 5xx: fire only when the new release's rate is, with that confidence, above both the
    # baseline's (upper bound) and this absolute floor, on at least this many requests.
    min_requests: int = 20
    error_rate_floor: float = 0.02
    # Latency: p95/p99 must be, with that confidence, above `latency_ratio` times the
    # baseline's AND at least `latency_floor` seconds slower, on at least
    # `min_latency_requests` requests.
    latency_ratio: float = 2.0
    latency_floor: float = 0.25
    min_latency_requests: int = 50
    # "bake": roll back on a breach during the bake window, alert after it; "always": also
    # after it; "never": alert only.
    auto_rollback: str = "bake"
    # Seconds between two traffic samples written to the ledger (during a bake or an
    # operation).
    sample_seconds: float = 2.0
    # Process supervision: restart a dead serving process; this many restarts within
    # `crash_window` seconds raise an alert.
    restart: bool = True
    crash_alert_restarts: int = 3
    crash_window: float = 300.0
    # The loopback port of the guard's `GET /metrics` (Prometheus text); 0 picks a free one,
    # shown by `jobnaut status`.
    metrics_port: int = 0
    # Seconds between two looks at the database (a timed query; on PostgreSQL connections,
    # lock waits and long transactions from pg_stat_activity).
    database_seconds: float = 5.0
    # During a bake window, the external integrations (Appendix C) are probed every
    # `probe_seconds` with the new and the previous configuration; `probe_failures` failures
    # in a row of a probe that passes with the previous one are a breach.
    probe_seconds: float = 3.0
    probe_failures: int = 3


def parse_guard(section: dict[str, Any]) -> GuardSettings:
    known = {f.name: f for f in fields(GuardSettings)}
    unknown = sorted(set(section) - set(known))
    if unknown:
        raise ValueError(f"[guard] unknown setting(s): {', '.join(unknown)} "
                         f"(known: {', '.join(known)})")
    values: dict[str, Any] = {}
    defaults = GuardSettings()
    for name, raw in section.items():
        default = getattr(defaults, name)
        if isinstance(default, bool):
            if not isinstance(raw, bool):
                raise ValueError(f"[guard] {name} must be true or false")
            values[name] = raw
        elif isinstance(default, int):
            values[name] = int(raw)
        elif isinstance(default, float):
            values[name] = float(raw)
        else:
            values[name] = str(raw)
    settings = GuardSettings(**values)
    _check(settings)
    return settings


def _check(s: GuardSettings) -> None:
    if s.auto_rollback not in AUTO_ROLLBACK:
        raise ValueError(f"[guard] auto_rollback must be one of {', '.join(AUTO_ROLLBACK)}, "
                         f"not {s.auto_rollback!r}")
    positive = ("bake_seconds", "interval", "window_seconds", "baseline_seconds",
                "confidence_z", "latency_ratio", "sample_seconds", "crash_window",
                "database_seconds", "probe_seconds")
    for name in positive:
        if getattr(s, name) <= 0:
            raise ValueError(f"[guard] {name} must be positive")
    if not 0 <= s.error_rate_floor < 1:
        raise ValueError("[guard] error_rate_floor is a rate between 0 and 1")
    if (s.min_requests < 1 or s.min_latency_requests < 1 or s.crash_alert_restarts < 1
            or s.probe_failures < 1):
        raise ValueError("[guard] minimum counts must be at least 1")
    if not 0 <= s.metrics_port <= 65535:
        raise ValueError("[guard] metrics_port must be a port number (0: any free one)")
    if s.latency_floor < 0:
        raise ValueError("[guard] latency_floor must not be negative")
