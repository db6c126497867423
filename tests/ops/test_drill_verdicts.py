"""Pass or fail against `[drill]`: the verdicts of measured figures (no environment)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobnaut.ops.drills.measure import verdicts
from jobnaut.ops.drills.settings import DrillTargets, load_targets
from jobnaut.ops.environment import Home
from jobnaut.ops.errors import OpsError


def figures(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"mttr_seconds": 10.0, "detect_seconds": 2.0, "failed_requests": 5,
                            "rpo_rows": 0, "announced_rows": None, "rto_seconds": None,
                            "parts": [{"case": "code", "caught": False}]}
    return {**base, **changes}


def failed(found: list[dict[str, Any]]) -> list[str]:
    return [v["target"] for v in found if not v["passed"]]


def test_within_every_target_passes() -> None:
    assert failed(verdicts(figures(), DrillTargets())) == []


def test_each_target_over_its_limit_fails() -> None:
    targets = DrillTargets(mttr_seconds=5, detect_seconds=1, max_failed_requests=4)
    assert failed(verdicts(figures(rpo_rows=1), targets)) == [
        "mttr_seconds", "detect_seconds", "max_failed_requests", "rpo_rows"]
    assert failed(verdicts(figures(mttr_seconds=None), DrillTargets())) == ["mttr_seconds"]


def test_a_restore_must_lose_exactly_what_it_announced() -> None:
    exact = verdicts(figures(rpo_rows=7, announced_rows=7), DrillTargets())
    assert failed(exact) == []
    for lost in (6, 8):
        found = verdicts(figures(rpo_rows=lost, announced_rows=7), DrillTargets())
        assert failed(found) == ["rpo_rows (restore: as announced)"]


def test_only_writes_in_doubt_explain_an_announcement_larger_than_the_loss() -> None:
    # two writes got no answer: up to two announced rows may be ones the load never heard of
    for lost in (5, 6, 7):
        found = verdicts(figures(rpo_rows=lost, announced_rows=7, in_doubt_writes=2),
                         DrillTargets())
        assert failed(found) == [], lost
    for lost in (4, 8):  # beyond the doubt, or more lost than announced: never explained
        found = verdicts(figures(rpo_rows=lost, announced_rows=7, in_doubt_writes=2),
                         DrillTargets())
        assert failed(found) == ["rpo_rows (restore: as announced)"], lost


def test_a_fault_that_must_be_caught_fails_when_it_was_not() -> None:
    parts = [{"case": "backup", "caught": False}]
    found = verdicts(figures(parts=parts, rto_seconds=1.0), DrillTargets())
    assert failed(found) == ["backup: caught"]
    assert failed(verdicts(figures(rto_seconds=200.0), DrillTargets())) == ["rto_seconds"]


@pytest.mark.parametrize("section, message", [
    ("[drill]\nmttr = 5\n", "unknown [drill] setting mttr"),
    ("[drill]\nmttr_seconds = \"soon\"\n", "invalid setting"),
    ("[drill]\nload_users = 0\n", "load_users must be at least 1"),
])
def test_bad_targets_are_refused(tmp_path: Path, section: str, message: str) -> None:
    (tmp_path / "jobnaut.toml").write_text(section)
    home = Home(root=tmp_path, config=None)  # type: ignore[arg-type]
    with pytest.raises(OpsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_targets(home)
    (tmp_path / "jobnaut.toml").write_text("[drill]\nmttr_seconds = 30\n")
    assert load_targets(home).mttr_seconds == 30.0
