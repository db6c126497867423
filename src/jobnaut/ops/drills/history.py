"""The trend over past drills: each drill's figures, and per scenario when it last passed
(the plan's "verify rollback capability" question) and how its MTTR moved."""

from __future__ import annotations

from typing import Any

from jobnaut.ops.drills.catalogue import SCENARIOS
from jobnaut.ops.drills.store import DrillRecord

TREND_LENGTH = 6  # the last drills of a scenario shown in its MTTR trend


def summarise(drills: list[DrillRecord]) -> dict[str, Any]:
    scenarios: dict[str, Any] = {}
    for name in SCENARIOS:
        mine = [d for d in drills if d.scenario == name and d.status != "running"]
        passed = [d for d in mine if d.passed]
        scenarios[name] = {
            "drills": len(mine),
            "passed": len(passed),
            "last_run": mine[-1].started_at if mine else None,
            "last_status": mine[-1].status if mine else None,
            "last_passed": passed[-1].started_at if passed else None,
            "mttr_trend": [d.metrics.get("mttr_seconds") for d in mine[-TREND_LENGTH:]],
        }
    return {"drills": [d.summary() for d in reversed(drills)], "scenarios": scenarios}
