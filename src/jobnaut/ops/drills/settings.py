"""`[drill]` in jobnaut.toml: the targets a drill passes or fails against. Read here, not
in ops.environment, so that drills add a section without touching the core settings."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

from jobnaut.ops.environment import CONFIG_NAME, Home
from jobnaut.ops.errors import OpsError

KNOWN = ("mttr_seconds", "rpo_rows", "max_failed_requests", "detect_seconds",
         "rto_seconds", "load_users")


@dataclass(frozen=True)
class DrillTargets:
    mttr_seconds: float = 60.0  # fault injected → users served again
    rpo_rows: int = 0  # acknowledged writes missing afterwards (a restore: what it announced)
    max_failed_requests: int = 250  # failed load requests over the whole drill
    detect_seconds: float = 30.0  # fault injected → detected (the guard, a check or the drill)
    rto_seconds: float = 120.0  # backup scenario: restoring the last good backup
    load_users: int = 2  # threads of synthetic users


SECTION = """
[drill]
# Targets of `jobnaut drill run` (docs/operations.md, "Rollback Testing"): a drill passes
# when every measured figure is within them. Unknown settings are refused.
mttr_seconds = 60          # fault injected -> users served again
rpo_rows = 0               # acknowledged writes missing afterwards (restore: as announced)
max_failed_requests = 250  # failed synthetic-load requests over the whole drill
detect_seconds = 30        # fault injected -> detected
rto_seconds = 120          # backup scenario: restoring the last good backup
load_users = 2             # synthetic users during a drill
"""


def load_targets(home: Home) -> DrillTargets:
    raw: dict[str, Any] = tomllib.loads((home.root / CONFIG_NAME).read_text()).get("drill", {})
    unknown = sorted(set(raw) - set(KNOWN))
    if unknown:
        raise OpsError(f"unknown [drill] setting {', '.join(unknown)} "
                       f"(known: {', '.join(KNOWN)})", exit_code=2)
    try:
        targets = DrillTargets(**{k: type(getattr(DrillTargets, k))(v) for k, v in raw.items()})
    except (TypeError, ValueError) as exc:
        raise OpsError(f"[drill]: invalid setting: {exc}", exit_code=2) from None
    if targets.load_users < 1 or targets.rpo_rows < 0 or targets.max_failed_requests < 0:
        raise OpsError("[drill]: load_users must be at least 1; rpo_rows and "
                       "max_failed_requests at least 0", exit_code=2)
    return targets
