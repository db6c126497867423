"""From what happened to figures, and from figures to pass or fail against `[drill]`."""

from __future__ import annotations

from typing import Any

from jobnaut.ops.drills.harness import Outcome
from jobnaut.ops.drills.load import Acknowledged, LoadResult
from jobnaut.ops.drills.settings import DrillTargets

# Scenarios whose fault must be stopped before it reaches users (refused, or caught by
# a verify): for them "caught" is a target of its own.
MUST_CATCH = ("config: encryption key", "backup")


def metrics(outcomes: list[Outcome], load: LoadResult,
            missing: list[Acknowledged]) -> dict[str, Any]:
    def longest(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return round(max(known), 2) if known else None

    announced = [o.announced_rows for o in outcomes if o.announced_rows is not None]
    rtos = [o.rto for o in outcomes if o.rto is not None]
    return {
        "detect_seconds": longest([o.detected - o.injected if o.detected else None
                                   for o in outcomes]),
        "mttr_seconds": longest([o.recovered - o.injected if o.recovered else None
                                 for o in outcomes]),
        "requests": len(load.samples),
        "failed_requests": sum(1 for s in load.samples if not s.ok),
        "acknowledged_writes": load.acknowledged,
        "in_doubt_writes": load.in_doubt,
        "lost_writes": sum(len(m.words) for m in missing),
        "rpo_rows": len(missing),
        "announced_rows": sum(announced) if announced else None,
        "rto_seconds": round(max(rtos), 2) if rtos else None,
        # Every acknowledged write's last state and what was missing: a test (or an
        # auditor) checks the RPO against the database itself.
        "acknowledged": [[a.saved_id, a.created_at, a.words] for a in load.writes.values()],
        "missing": [[m.saved_id, m.created_at, m.words] for m in missing],
        "parts": [{"case": o.case,
                   "detect_seconds": _span(o.injected, o.detected),
                   "mttr_seconds": _span(o.injected, o.recovered),
                   "caught": o.caught, "announced_rows": o.announced_rows,
                   "rto_seconds": round(o.rto, 2) if o.rto is not None else None,
                   "detail": o.detail} for o in outcomes],
    }


def _span(start: float, end: float | None) -> float | None:
    return round(end - start, 2) if end is not None else None


def _as_announced(lost: int, announced: int, in_doubt: int, slack: int) -> bool:
    """A restore loses exactly the rows it announced. The announcement may be larger only by
    writes in doubt (sent, never answered: stored without the load hearing of it); losing
    more than announced is never explained away."""
    if lost > announced + slack:
        return False
    return announced - lost <= slack + in_doubt


def verdicts(figures: dict[str, Any], targets: DrillTargets) -> list[dict[str, Any]]:
    """Each target with the measured value and whether it passed."""
    found: list[dict[str, Any]] = []

    def judge(name: str, value: Any, limit: Any, ok: bool) -> None:
        found.append({"target": name, "limit": limit, "value": value, "passed": ok})

    mttr, detect = figures["mttr_seconds"], figures["detect_seconds"]
    judge("mttr_seconds", mttr, targets.mttr_seconds,
          mttr is not None and mttr <= targets.mttr_seconds)
    judge("detect_seconds", detect, targets.detect_seconds,
          detect is not None and detect <= targets.detect_seconds)
    judge("max_failed_requests", figures["failed_requests"], targets.max_failed_requests,
          figures["failed_requests"] <= targets.max_failed_requests)
    announced = figures["announced_rows"]
    if announced is None:
        judge("rpo_rows", figures["rpo_rows"], targets.rpo_rows,
              figures["rpo_rows"] <= targets.rpo_rows)
    else:  # a restore discards writes: exactly those it announced, none beyond
        judge("rpo_rows (restore: as announced)", figures["rpo_rows"],
              f"{announced} announced (± {targets.rpo_rows})",
              _as_announced(figures["rpo_rows"], announced, figures.get("in_doubt_writes", 0),
                            targets.rpo_rows))
    if figures["rto_seconds"] is not None:
        judge("rto_seconds", figures["rto_seconds"], targets.rto_seconds,
              figures["rto_seconds"] <= targets.rto_seconds)
    for part in figures["parts"]:
        if part["case"] in MUST_CATCH:
            judge(f"{part['case']}: caught", part["caught"], True, bool(part["caught"]))
    return found
