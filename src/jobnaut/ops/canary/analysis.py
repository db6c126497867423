"""The verdict on a canary step: the new release's share of traffic against the release
serving the rest, both read from the switch's access log at the same time.

The test is the guard's (`verdict.judge`, ADR 0006): one-sided, with a minimum sample and
absolute floors. The baseline is the previous release's traffic from `baseline_seconds`
before the step began until now: it serves most users during the step, so it is a
concurrent control (Kayenta's idea) that shares the hour, the load and the database.
The canary is judged twice, on the whole step (most evidence) and on its last
`window_seconds` (a fault that began mid-step is not diluted); either breach ends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobnaut.ops.guard.settings import GuardSettings
from jobnaut.ops.guard.traffic import TrafficWindows
from jobnaut.ops.guard.verdict import Verdict, judge


@dataclass(frozen=True)
class ServiceJudgement:
    service: str
    verdict: Verdict
    requests: int  # the canary's requests for this service since the step began

    def line(self) -> str:
        return f"{self.service} {self.verdict.evidence}"


def judge_step(windows: TrafficWindows, *, canary: str, baselines: dict[str, str],
               step_start: float, now: float, s: GuardSettings) -> list[ServiceJudgement]:
    """One judgement per service (`baselines`: service -> the release serving the rest)."""
    found = []
    for service, baseline_release in sorted(baselines.items()):
        baseline = windows.figures(service, baseline_release,
                                   step_start - s.baseline_seconds, now + 1)
        whole = windows.figures(service, canary, step_start, now + 1)
        verdict = judge(whole, baseline, s)
        if not verdict.breach:
            recent_start = max(step_start, now - s.window_seconds)
            recent = judge(windows.figures(service, canary, recent_start, now + 1), baseline, s)
            verdict = recent if recent.breach else verdict
        found.append(ServiceJudgement(service, verdict, whole.requests))
    return found


def breach(judgements: list[ServiceJudgement]) -> ServiceJudgement | None:
    return next((j for j in judgements if j.verdict.breach), None)
