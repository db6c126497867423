"""The guard's decision (verdict.py) and its settings: pure functions, no processes."""

from __future__ import annotations

import random

import pytest

from jobnaut.ops.guard.settings import GuardSettings, parse_guard
from jobnaut.ops.guard.verdict import Figures, judge, quantile_bounds, wilson_bounds

S = GuardSettings()


def figures(requests: int, errors: int = 0, latency: float = 0.02) -> Figures:
    return Figures.of([500] * errors + [200] * (requests - errors), [latency] * requests)


def test_a_clear_5xx_regression_fires_within_a_few_dozen_requests() -> None:
    verdict = judge(figures(30, errors=12), figures(1000, errors=2), S)
    assert verdict.breach and verdict.rule == "5xx"
    assert verdict.evidence == "5xx 40 % of 30 requests vs 0.2 % baseline"


def test_a_total_failure_fires_at_the_minimum_request_count() -> None:
    assert judge(figures(S.min_requests, errors=S.min_requests), figures(500), S).breach
    assert not judge(figures(S.min_requests - 1, errors=S.min_requests - 1), figures(500),
                     S).breach


def test_a_handful_of_requests_never_fires() -> None:
    for requests in range(1, S.min_requests):
        assert not judge(figures(requests, errors=requests), figures(200), S).breach


def test_noise_at_the_baseline_rate_stays_quiet() -> None:
    baseline = figures(2000, errors=60)  # 3 % of errors is this service's normal
    assert not judge(figures(200, errors=9), baseline, S).breach  # 4.5 % by chance
    assert judge(figures(200, errors=40), baseline, S).breach  # 20 %: a regression


def test_an_error_rate_under_the_floor_is_not_a_breach_even_when_significant() -> None:
    # 1 % against a perfect baseline is real but below the 2 % floor: not worth a rollback
    assert not judge(figures(5000, errors=50), figures(5000), S).breach


def test_without_a_baseline_errors_are_judged_against_the_floor() -> None:
    verdict = judge(figures(50, errors=25), None, S)
    assert verdict.breach and verdict.evidence.endswith("vs no baseline traffic")
    assert not judge(figures(50, errors=1), None, S).breach


def test_a_latency_regression_fires_on_p95_with_ratio_and_floor() -> None:
    baseline = figures(500, latency=0.03)
    slow = judge(figures(60, latency=0.9), baseline, S)
    assert slow.breach and slow.rule == "p95"
    assert slow.evidence == "p95 900 ms over 60 requests vs 30 ms baseline"


def test_latency_needs_both_the_ratio_and_the_absolute_floor() -> None:
    # 3x slower but only 40 ms more: under the 0.25 s floor
    assert not judge(figures(200, latency=0.06), figures(500, latency=0.02), S).breach
    # 0.3 s more but only 1.3x: under the ratio
    assert not judge(figures(200, latency=1.3), figures(500, latency=1.0), S).breach


def test_latency_needs_a_minimum_sample_and_a_baseline() -> None:
    baseline = figures(500, latency=0.02)
    assert not judge(figures(S.min_latency_requests - 1, latency=2.0), baseline, S).breach
    assert not judge(figures(200, latency=2.0), None, S).breach


def test_a_few_slow_requests_among_fast_ones_do_not_fire() -> None:
    rng = random.Random(7)
    base = Figures.of([200] * 1000, [rng.lognormvariate(-4, 0.5) for _ in range(1000)])
    durations = [rng.lognormvariate(-4, 0.5) for _ in range(100)]
    durations[:3] = [3.0, 3.0, 3.0]  # a p97 tail of 3 s: the p99 point estimate is 3 s
    assert not judge(Figures.of([200] * 100, durations), base, S).breach


def test_healthy_samples_from_the_baseline_distribution_never_fire() -> None:
    """Many looks at a healthy release (the bake window's repeated tests) stay quiet."""
    rng = random.Random(11)

    def draw(n: int) -> Figures:
        statuses = [500 if rng.random() < 0.01 else 200 for _ in range(n)]
        return Figures.of(statuses, [rng.lognormvariate(-3.5, 0.6) for _ in range(n)])

    baseline = draw(3000)
    assert not any(judge(draw(rng.randint(20, 400)), baseline, S).breach for _ in range(500))


def test_wilson_bounds_contain_the_rate_and_narrow_with_the_sample() -> None:
    low, high = wilson_bounds(10, 100, 1.96)
    assert low < 0.10 < high
    narrow = wilson_bounds(100, 1000, 1.96)
    assert narrow[1] - narrow[0] < high - low
    assert wilson_bounds(0, 0, 3.7) == (0.0, 1.0)
    assert wilson_bounds(0, 100, 3.7)[0] == 0.0


def test_quantile_bounds_need_enough_data() -> None:
    assert quantile_bounds([], 0.95, 3.7) is None
    assert quantile_bounds([0.1] * 10, 0.95, 3.7) is not None
    assert quantile_bounds([0.1, 0.2], 0.5, 3.7) is None  # too few to bound the median
    values = [i / 100 for i in range(1, 101)]
    low, high = quantile_bounds(values, 0.5, 1.96) or (0, 0)
    assert low < 0.5 < high


def test_guard_settings_parse_check_and_refuse_unknown_ones() -> None:
    parsed = parse_guard({"bake_seconds": 30, "auto_rollback": "always", "restart": False})
    assert parsed.bake_seconds == 30.0 and parsed.auto_rollback == "always"
    assert not parsed.restart and parsed.min_requests == S.min_requests
    with pytest.raises(ValueError, match=r"unknown setting.*bake_secs"):
        parse_guard({"bake_secs": 30})
    with pytest.raises(ValueError, match="auto_rollback"):
        parse_guard({"auto_rollback": "sometimes"})
    with pytest.raises(ValueError, match="error_rate_floor"):
        parse_guard({"error_rate_floor": 2})
    with pytest.raises(ValueError, match="true or false"):
        parse_guard({"enabled": "yes"})
