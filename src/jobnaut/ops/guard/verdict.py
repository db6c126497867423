"""Is the new release worse than the baseline? Pure functions, no I/O (ADR 0006).

Every test is one-sided and asks whether the new release is worse *with confidence*, not
whether its point estimate is: a handful of requests, or a single slow one, proves
nothing. A fixed "2x the baseline" on ten requests fires by chance; here the confidence
bound of a small sample is wide, so it cannot cross the threshold until the evidence is
real — and a clear regression crosses it within a few dozen requests.

- 5xx rate: the Wilson score lower bound of the new release's rate must exceed both the
  Wilson upper bound of the baseline's rate and an absolute floor.
- Latency (p95, p99): a distribution-free lower confidence bound of the new release's
  quantile (an order statistic) must exceed `ratio` times the baseline quantile's upper
  bound AND exceed it by an absolute floor in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from jobnaut.ops.guard.settings import GuardSettings


@dataclass(frozen=True)
class Figures:
    """A window of one release's traffic for one service."""

    requests: int
    errors: int  # responses with status >= 500
    durations: tuple[float, ...]  # seconds, sorted ascending

    @classmethod
    def of(cls, statuses: Sequence[int], durations: Sequence[float]) -> Figures:
        return cls(len(statuses), sum(1 for s in statuses if s >= 500),
                   tuple(sorted(durations)))

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def quantile(self, q: float) -> float | None:
        """Nearest-rank quantile (None without data)."""
        if not self.durations:
            return None
        rank = max(1, math.ceil(q * len(self.durations)))
        return self.durations[rank - 1]


@dataclass(frozen=True)
class Verdict:
    breach: bool
    evidence: str  # what was compared, with the numbers, in one line
    rule: str = ""  # "5xx", "p95", "p99" for a breach; "" otherwise


def wilson_bounds(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (good coverage for small samples and
    rates near 0, where the normal approximation is useless)."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = p + z2 / (2 * trials)
    margin = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - margin) / denominator), min(1.0, (centre + margin) / denominator)


def quantile_bounds(durations: Sequence[float], q: float, z: float
                    ) -> tuple[float, float] | None:
    """Distribution-free confidence bounds of the q-quantile from sorted `durations`: the
    order statistics whose ranks the binomial count below the quantile (normal
    approximation) places at ±z. None when the sample is too small to bound it."""
    n = len(durations)
    if n == 0:
        return None
    spread = z * math.sqrt(n * q * (1 - q))
    low_rank = math.floor(n * q - spread)
    high_rank = math.ceil(n * q + spread) + 1
    if low_rank < 1:
        return None
    return durations[low_rank - 1], durations[min(n, high_rank) - 1]


def judge(new: Figures, baseline: Figures | None, s: GuardSettings) -> Verdict:
    """The first breach found (5xx first: it is the clearer harm), else a quiet verdict that
    says what was seen."""
    for rule in (_errors, _latency_p95, _latency_p99):
        verdict = rule(new, baseline, s)
        if verdict is not None:
            return verdict
    return Verdict(False, describe(new, baseline))


def _errors(new: Figures, baseline: Figures | None, s: GuardSettings) -> Verdict | None:
    if new.requests < s.min_requests or new.errors == 0:
        return None
    low, _ = wilson_bounds(new.errors, new.requests, s.confidence_z)
    base_high = (wilson_bounds(baseline.errors, baseline.requests, s.confidence_z)[1]
                 if baseline is not None and baseline.requests else 0.0)
    if low > max(s.error_rate_floor, base_high):
        return Verdict(True, f"5xx {_percent(new.error_rate)} of {new.requests} requests vs "
                             + _baseline_rate(baseline), "5xx")
    return None


def _latency_p95(new: Figures, baseline: Figures | None, s: GuardSettings) -> Verdict | None:
    return _latency(new, baseline, s, 0.95, "p95")


def _latency_p99(new: Figures, baseline: Figures | None, s: GuardSettings) -> Verdict | None:
    return _latency(new, baseline, s, 0.99, "p99")


def _latency(new: Figures, baseline: Figures | None, s: GuardSettings, q: float,
             name: str) -> Verdict | None:
    # Without a baseline there is nothing to call slow: what is normal for this service is
    # unknown, so latency is judged only against the release that served before.
    if baseline is None or new.requests < s.min_latency_requests:
        return None
    new_bounds = quantile_bounds(new.durations, q, s.confidence_z)
    base_bounds = quantile_bounds(baseline.durations, q, s.confidence_z)
    if new_bounds is None or base_bounds is None:
        return None
    new_low, base_high = new_bounds[0], base_bounds[1]
    if new_low > s.latency_ratio * base_high and new_low - base_high > s.latency_floor:
        return Verdict(True, f"{name} {_seconds(new.quantile(q))} over {new.requests} requests "
                             f"vs {_seconds(baseline.quantile(q))} baseline", name)
    return None


def describe(new: Figures, baseline: Figures | None) -> str:
    text = (f"5xx {_percent(new.error_rate)} of {new.requests} requests, "
            f"p95 {_seconds(new.quantile(0.95))}")
    if baseline is None or not baseline.requests:
        return text + "; no baseline traffic"
    return (text + f"; baseline 5xx {_percent(baseline.error_rate)} of {baseline.requests}, "
                   f"p95 {_seconds(baseline.quantile(0.95))}")


def _baseline_rate(baseline: Figures | None) -> str:
    if baseline is None or not baseline.requests:
        return "no baseline traffic"
    return f"{_percent(baseline.error_rate)} baseline"


def _percent(rate: float) -> str:
    value = rate * 100
    return f"{value:.0f} %" if value >= 10 or value == 0 else f"{value:.1f} %"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
