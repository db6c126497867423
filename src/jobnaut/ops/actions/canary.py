"""The deploy's canary step (ADR 0013): before the switch, the new release takes a growing
share of new sessions — `[deploy] canary`, e.g. 5 % then 25 % — and is judged against the
release serving the rest at each step. A breach gives every new session back to the
previous release at once and fails the deploy (the release becomes rolled_back); a clean
last step leads to the deploy's usual switch, the 100 % step.

Sessions are sticky: the switch's cookie keeps each client on the release it was sent to
(ADR 0005), through every step; only the promotion moves them. The deploy holds the
operation lock throughout, so the guard waits (its skip is its rule: never fight an
operation) and the canary's verdict is this step's alone.
"""

from __future__ import annotations

import json
import time
from typing import Any

from jobnaut.ops.actions.switching import live_processes, release_processes
from jobnaut.ops.canary.analysis import ServiceJudgement, breach, judge_step
from jobnaut.ops.canary.state import STATE_KEY
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import traffic
from jobnaut.ops.environment import SERVICES
from jobnaut.ops.errors import OpsError
from jobnaut.ops.guard.traffic import LogTailer, TrafficWindows, parse_line
from jobnaut.ops.ledger import ProcessRecord, Release
from jobnaut.ops.operation import Run, Step

SEED_BYTES = 4 * 1024 * 1024  # the recent access log: the previous release's baseline


def canary_step(release_of: Any) -> Step:
    def canary(run: Run) -> str:
        return run_canary(run, release_of(run))

    return Step("canary", "send a growing share of new sessions to the release ([deploy] "
                          "canary), judging it against the previous release at each step; "
                          "a regression gives them back", canary)


def run_canary(run: Run, release: Release) -> str:
    env = run.env
    settings = env.home.config.deploy
    if run.ctx.get("maintenance"):
        return "no canary: the previous release is out of traffic (maintenance)"
    old = {s: [p for p in live_processes(env, s) if p.release_id != release.id]
           for s in SERVICES}
    if not all(old.values()):
        return "no canary: no earlier release serves, so the switch is all at once"
    previous = {s: procs[0] for s, procs in old.items()}
    new = release_processes(env, release.id, SERVICES)
    if set(new) != set(SERVICES):  # a resumed deploy whose candidates died meanwhile
        missing = ", ".join(sorted(set(SERVICES) - set(new)))
        raise OpsError(f"{release.name} has no running {missing} to send sessions to",
                       hint="`jobnaut abandon`, then deploy again")
    tailer = LogTailer(traffic.traffic_switch(env.home).access_log_path,
                       start_back_bytes=SEED_BYTES)
    keep = settings.canary_max_step_seconds + env.home.config.guard.baseline_seconds + 60
    windows = TrafficWindows(keep)
    notes = []
    try:
        for index, percent in enumerate(settings.canary_steps, start=1):
            _split(env, release, previous, new, percent)
            _show(env, release, previous, percent, index, "judging")
            run.event(f"canary: {release.name} takes {percent} % of new sessions (step "
                      f"{index} of {len(settings.canary)}; the others stay on "
                      f"{_names(previous)})")
            judged = _judge_until_done(run, release, previous, percent, tailer, windows)
            line = f"{percent} %: " + "; ".join(j.line() for j in judged)
            notes.append(line)
            run.event(f"canary: {release.name} passed {line}")
    finally:
        tailer.close()
        env.ledger.set_state(STATE_KEY, None)
    return " | ".join(notes) + " — promoting to 100 %"


def _split(env: Env, release: Release, previous: dict[str, ProcessRecord],
           new: dict[str, ProcessRecord], percent: int) -> None:
    for service in SERVICES:
        old, candidate = previous[service], new[service]
        traffic.split(env.home, service, {old.port: 100 - percent, candidate.port: percent},
                      {old.port: f"v{old.release_id}", candidate.port: release.name})


def _judge_until_done(run: Run, release: Release, previous: dict[str, ProcessRecord],
                      percent: int, tailer: LogTailer,
                      windows: TrafficWindows) -> list[ServiceJudgement]:
    """Look every guard interval until the step's time is up (longer while the canary has
    fewer requests than the guard's minimum, up to the longest step); raise on a breach."""
    env = run.env
    settings, guard = env.home.config.deploy, env.home.config.guard
    baselines = {s: f"v{p.release_id}" for s, p in previous.items()}
    start = time.time()
    while True:
        time.sleep(guard.interval)
        now = time.time()
        windows.add(filter(None, map(parse_line, tailer.read())))
        windows.prune(now)
        judged = judge_step(windows, canary=release.name, baselines=baselines,
                            step_start=start, now=now, s=guard)
        bad = breach(judged)
        if bad is not None:
            _give_back(run, release, previous, percent, bad)
        elapsed = now - start
        enough = sum(j.requests for j in judged) >= guard.min_requests
        if elapsed >= settings.canary_max_step_seconds or (
                elapsed >= settings.canary_step_seconds and enough):
            if not enough:
                run.event(f"canary: {release.name} at {percent} % got only "
                          f"{sum(j.requests for j in judged)} requests in {elapsed:.0f} s: "
                          "too few to judge; going on", "warning")
            return judged
        _show(env, release, previous, percent, None, "; ".join(j.line() for j in judged),
              elapsed)


def _give_back(run: Run, release: Release, previous: dict[str, ProcessRecord],
               percent: int, bad: ServiceJudgement) -> None:
    """Every new session to the previous release now (sessions on the canary too), then
    fail the deploy: its failure handling stops the canary and records it rolled back."""
    env = run.env
    for service, old in previous.items():
        traffic.route(env.home, service, old.port, f"v{old.release_id}")
    evidence = f"{bad.service} {bad.verdict.evidence}"
    run.ctx["canary_breach"] = {"release": release.name, "percent": percent,
                                "rule": bad.verdict.rule, "evidence": evidence}
    run.event(f"canary: {release.name} breached at {percent} %: {evidence}; every session "
              f"is back on {_names(previous)}", "error")
    raise OpsError(f"canary {release.name} breached at {percent} % of new sessions: "
                   f"{evidence}", hint=f"{_names(previous)} serves everyone again; "
                   f"`jobnaut logs` and `jobnaut watch` show what {release.name} did")


def _show(env: Env, release: Release, previous: dict[str, ProcessRecord], percent: int,
          index: int | None, detail: str, elapsed: float = 0.0) -> None:
    steps = env.home.config.deploy.canary
    state = json.loads(env.ledger.get_state(STATE_KEY) or "{}")
    state.update(release=release.name, previous=_names(previous), percent=percent,
                 steps=list(steps), detail=detail, seconds=round(elapsed, 1))
    if index is not None:
        state["step"] = index
    env.ledger.set_state(STATE_KEY, json.dumps(state))


def _names(previous: dict[str, ProcessRecord]) -> str:
    return ", ".join(sorted({f"v{p.release_id}" for p in previous.values()}))
