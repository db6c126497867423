"""The guard's probes of the integrations: a breach needs failures in a row of a probe
that passes with the previous configuration (real HTTP to a closed port, no process)."""

from __future__ import annotations

from jobnaut.ops.guard.probes import ProbeWatch, Target

BROKEN = {"JSEARCH_API_URL": "http://127.0.0.1:9/broken"}


def _target(config: dict[str, str], control: dict[str, str]) -> Target:
    return Target("v5", "v4", lambda: config, lambda: control)


def test_a_probe_failing_in_a_row_where_the_previous_configuration_passes_is_a_breach() -> None:
    probes = ProbeWatch(every=60, failures=3, timeout=2)
    target = _target(BROKEN, {})  # before: no job feed configured, which passes
    probes.watch(target)
    for _ in range(2):
        probes.probe(target)
    assert probes.verdict("v5") is None  # two failures are not yet three in a row
    probes.probe(target)
    verdict = probes.verdict("v5")
    assert verdict is not None and verdict.breach and verdict.rule == "probe"
    assert verdict.evidence.startswith("probe external API: job feed failed 3 times in a "
                                       "row (not answering")
    assert verdict.evidence.endswith("it passes with v4's configuration")
    assert probes.verdict("v6") is None  # only the release watched


def test_an_integration_down_for_both_configurations_is_not_the_release_s_fault() -> None:
    probes = ProbeWatch(every=60, failures=3, timeout=2)
    target = _target(BROKEN, BROKEN)
    probes.watch(target)
    for _ in range(4):
        probes.probe(target)
    assert probes.verdict("v5") is None


def test_a_probe_that_passes_again_starts_the_count_over() -> None:
    probes = ProbeWatch(every=60, failures=2, timeout=2)
    flaky = _target(BROKEN, {})
    probes.watch(flaky)
    probes.probe(flaky)
    healed = _target({}, {})
    healed.streaks = flaky.streaks  # the same release, its feed answering again
    probes.probe(healed)
    probes.probe(flaky)
    assert flaky.streaks["external API: job feed"] == 1
    assert probes.verdict("v5") is None
