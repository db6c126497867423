"""Canary deploys end to end (real processes, the Caddy switch, SQLite: the database takes
no part in how traffic is split). `[deploy] canary = [5, 25, 100]`: at 5 % only about that
share of new sessions reach the new release, a session keeps its release, a healthy
release is promoted through the steps and a bad one is given back before promotion."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.ops.conftest import Environment, SourceRepo, _up, make_environment
from tests.ops.helpers import Clients, fail_on_flag, fresh_get
from tests.support.inbox import wait_for

STEP_SECONDS = 12  # each step below 100 %; long enough to measure the split within it


@pytest.fixture(scope="module")
def flags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("canary-flags")


@pytest.fixture(scope="module")
def flaky_commit(source_repo: SourceRepo, flags: Path) -> str:
    """Job search answers 500 once a file named after the release exists in `flags`: the
    release passes every check before traffic, then fails the users it is given."""
    return source_repo.commit_variant("search-500-on-flag", {
        "src/jobnaut/app/jobs/routes.py": fail_on_flag(
            "    found = search.search_jobs(db=db, query=query)", flags,
            "search is broken")})


@pytest.fixture(scope="module")
def env(source_repo: SourceRepo, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Environment]:
    created = make_environment(tmp_path_factory.mktemp("canary-env") / "env", source_repo,
                               None)
    for up in _up(created):  # the first deploy is all at once: nothing served before it
        set_deploy(up, canary="[5, 25, 100]", canary_step_seconds=str(STEP_SECONDS),
                   canary_max_step_seconds="60")
        yield up


def set_deploy(env: Environment, **settings: str) -> None:
    path = env.home / "jobnaut.toml"
    text = path.read_text()
    for name, value in settings.items():
        text, found = re.subn(rf"^#? ?{name} = .*$", f"{name} = {value}", text, count=1,
                              flags=re.M)
        assert found, name
    path.write_text(text)


def canary_state(env: Environment) -> dict[str, Any] | None:
    from jobnaut.ops.ledger import Ledger

    raw = Ledger(env.home / "ledger.db").get_state("canary")
    return json.loads(raw) if raw else None


def events(env: Environment) -> list[str]:
    from jobnaut.ops.ledger import Ledger

    return [e["message"] for e in Ledger(env.home / "ledger.db").events(300)]


class Deploying:
    """`jobnaut deploy REF` running in the background; `.result()` waits for its end."""

    def __init__(self, env: Environment, commit: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jobnaut", "--home", str(env.home), "deploy", commit,
             "-m", "canary test"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            stdin=subprocess.DEVNULL)

    def result(self, timeout: float = 240) -> tuple[int, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out


class NewSessions(Clients):
    """Clients without a cookie, on new connections, in a few threads until stopped: each
    request is a new session to the switch. Counts answers per status."""

    def __init__(self, port: int, path: str, threads: int = 4):
        super().__init__(threads)
        self.port, self.path = port, path
        self.statuses: Counter[int] = Counter()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status = fresh_get(self.port, self.path)[0]
            except OSError:
                status = 0
            self.statuses[status] += 1


def release_of(answer: tuple[int, str, str]) -> str:
    status, body, _ = answer
    assert status == 200, body
    return str(json.loads(body)["release"])


def binomial_bounds(n: int, p: float, z: float = 4.0) -> tuple[float, float]:
    """Where a Binomial(n, p) count falls but for about 1 in 30,000 runs (z = 4)."""
    spread = z * math.sqrt(n * p * (1 - p))
    return n * p - spread, n * p + spread


def test_bad_canary_settings_are_refused_and_change_nothing(env: Environment,
                                                            flaky_commit: str) -> None:
    path = env.home / "jobnaut.toml"
    good = path.read_text()
    before = [r["id"] for r in env.releases()]
    serving = env.serving_release()
    try:
        for value, said in (("[5, 50, 25, 100]", "percentages must grow step by step"),
                            ("[5, 25]", "must end with 100"),
                            ("[0, 100]", "percentages must be between 1 and 100"),
                            ('"5%"', "must be a list of whole percentages")):
            set_deploy(env, canary=value)
            result = env.jobnaut("deploy", flaky_commit, "-m", "refused", check=False)
            assert result.returncode != 0
            assert f"[deploy] canary {said}" in result.stdout + result.stderr, result
    finally:
        path.write_text(good)
    assert [r["id"] for r in env.releases()] == before
    assert env.serving_release() == serving


def test_at_5_percent_few_new_sessions_reach_the_canary_sessions_stay_and_it_is_promoted(
        env: Environment, flaky_commit: str) -> None:
    previous = env.serving_release()
    deploying = Deploying(env, flaky_commit)
    state = wait_for(lambda: (s := canary_state(env)) and s.get("step") == 1 and s, 180,
                     "the canary's first step")
    canary = state["release"]
    assert state["percent"] == 5 and state["previous"] == previous

    # 400 new sessions: the canary's count is Binomial(400, 0.05) at most as spread.
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: fresh_get(env.backend_port, "/version"), range(400)))
    still = canary_state(env)
    assert still and still["percent"] == 5  # measured within the 5 % step
    shares = Counter(release_of(a) for a in answers)
    low, high = binomial_bounds(400, 0.05)
    assert set(shares) == {previous, canary}, shares
    print(f"canary at 5 %: {shares[canary]} of 400 new sessions (bounds {low:.1f}-{high:.1f})")
    assert low <= shares[canary] <= high, shares
    # Sessions: a client keeping its cookie stays on the release it was sent to.
    cookies = {release_of(a): a[2].split(";")[0] for a in answers}
    for release, cookie in cookies.items():
        assert cookie.startswith("jobnaut_release=")
        seen = {release_of(fresh_get(env.backend_port, "/version", cookie)) for _ in range(20)}
        assert seen == {release}, (release, seen)

    # status and watch say where the canary is.
    shown = " ".join(env.jobnaut("status", check=False).stdout.split())
    assert f"canary {canary} at 5 % of new sessions (step 1 of 3" in shown, shown
    watched = env.jobnaut("watch", "--once").stdout
    assert f"canary {canary} at " in watched, watched

    with NewSessions(env.backend_port, "/api/jobs?q=python") as load:
        wait_for(lambda: (s := canary_state(env)) and s["percent"] == 25, 120,
                 "the 25 % step")
        # The old release's session is still on it at 25 %.
        assert release_of(fresh_get(env.backend_port, "/version", cookies[previous])) \
            == previous
        code, said = deploying.result()
    assert code == 0, said
    assert load.statuses[200] > 0 and set(load.statuses) == {200}, load.statuses
    # Promoted: everyone on the new release, old sessions too; the steps are on record.
    assert env.serving_release() == canary
    assert release_of(fresh_get(env.backend_port, "/version", cookies[previous])) == canary
    assert canary_state(env) is None
    release = next(r for r in env.releases() if r["id"] == canary)
    assert release["status"] == "active"
    assert "5 %: backend " in said and "25 %: backend " in said and "promoting" in said, said
    messages = events(env)
    for percent in (5, 25):
        assert any(m.startswith(f"canary: {canary} takes {percent} % of new sessions")
                   for m in messages), messages
        assert any(m.startswith(f"canary: {canary} passed {percent} %: backend ")
                   for m in messages), messages
    # The dashboard draws each step as a marker, before the promotion's switch.
    from jobnaut.ops.context import Env
    from jobnaut.ops.dashboard.data import markers

    drawn = markers(Env.open(env.home))
    steps = [m for m in drawn if m["kind"] == "canary"]
    assert [m["label"] for m in steps[-2:]] == [
        f"{canary} takes {percent} % of new sessions" for percent in (5, 25)], drawn
    promotion = drawn[-1] if drawn[-1]["kind"] == "switch" else None
    assert promotion is not None and promotion["t"] >= steps[-1]["t"], drawn


def test_a_bad_canary_is_rolled_back_before_promotion(env: Environment, flaky_commit: str,
                                                      flags: Path) -> None:
    previous = env.serving_release()
    deploying = Deploying(env, flaky_commit)
    with NewSessions(env.backend_port, "/api/jobs?q=python") as load:
        state = wait_for(lambda: (s := canary_state(env)) and s.get("step") == 1 and s, 180,
                         "the canary's first step")
        bad = state["release"]
        canary_cookie = next(a[2].split(";")[0] for a in iter(
            lambda: fresh_get(env.backend_port, "/version"), None)
            if release_of(a) == bad)
        (flags / bad).touch()  # from now on the canary fails its users' searches
        code, said = deploying.result()
    print(said)
    assert code != 0
    assert re.search(rf"canary {bad} breached at \d+ % of new sessions: backend 5xx ", said), \
        said
    # Given back before promotion: it never served everyone, and is never a target again.
    assert env.serving_release() == previous
    assert release_of(fresh_get(env.backend_port, "/version", canary_cookie)) == previous
    release = next(r for r in env.releases() if r["id"] == bad)
    assert release["status"] == "rolled_back"
    assert canary_state(env) is None
    from jobnaut.ops.ledger import Ledger

    activations = Ledger(env.home / "ledger.db").activations("backend")
    assert all(f"v{a.release_id}" != bad for a in activations)
    messages = events(env)
    assert any(m.startswith(f"canary: {bad} breached at ") and "5xx" in m for m in messages)
    assert any(m.startswith(f"canary: {bad} rolled back at ") for m in messages), messages
    # Only the canary's share of users saw errors.
    failed = sum(n for status, n in load.statuses.items() if status != 200)
    assert 0 < failed < 0.3 * sum(load.statuses.values()), load.statuses


def test_a_deploy_killed_after_its_canary_is_abandoned_back_to_the_previous_release(
        env: Environment, flaky_commit: str) -> None:
    """Killed (SIGKILL) after the last partial step, before the promotion: the switch still
    splits new sessions. `abandon` sends every session back before it stops the canary."""
    import os

    previous = env.serving_release()
    with NewSessions(env.backend_port, "/api/jobs?q=python") as load:
        killed = subprocess.run(
            [sys.executable, "-m", "jobnaut", "--home", str(env.home), "deploy", flaky_commit,
             "-m", "killed"], capture_output=True, text=True, stdin=subprocess.DEVNULL,
            env={**os.environ, "JOBNAUT_FAILPOINT": "before:switch"}, timeout=300)
        assert killed.returncode == -9, killed.stdout + killed.stderr
        answers = [fresh_get(env.backend_port, "/version") for _ in range(40)]
        canary = next(release_of(a) for a in answers if release_of(a) != previous)
        cookie = next(a[2].split(";")[0] for a in answers if release_of(a) == canary)
        said = env.jobnaut("abandon").stdout
        assert f"canary ended: backend back on {previous} for every session" in said, said
        assert {release_of(fresh_get(env.backend_port, "/version")) for _ in range(40)} \
            == {previous}
        assert release_of(fresh_get(env.backend_port, "/version", cookie)) == previous
    assert set(load.statuses) == {200}, load.statuses
    assert next(r for r in env.releases() if r["id"] == canary)["status"] == "failed"
