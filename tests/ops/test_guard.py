"""The guard end to end (real processes, Caddy switch, SQLite: the database does not matter
to the guard). A release that passes every pre-traffic check but answers 500 on an endpoint
users hit is rolled back by the guard alone; a healthy one under load is left alone; while
an operator's operation holds the lock, the guard records why it waits."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ops.conftest import Environment, SourceRepo, _up
from tests.ops.helpers import Clients, UserData, fail_on_flag
from tests.support.browser import in_a_browser
from tests.support.inbox import wait_for
from tests.support.processes import free_port

RECOVERY_LIMIT = 10.0  # seconds; the goal is 3 (see bench/guard_bench.py for the figures)


@pytest.fixture(scope="module")
def flags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fault-flags")


@pytest.fixture(scope="module")
def flaky_commit(source_repo: SourceRepo, flags: Path) -> str:
    """A release whose /api/recommendations answers 500 once a file named after it exists
    in `flags`: it passes every check before traffic (they do not call that endpoint)."""
    return source_repo.commit_variant("recommendations-500-on-flag", {
        "src/jobnaut/app/matching/routes.py": fail_on_flag(
            "    ranked = recommend(db=db, profile=profile, limit=limit)", flags,
            "recommendations are broken")})


@pytest.fixture(scope="module")
def env(source_repo: SourceRepo, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Environment]:
    home = tmp_path_factory.mktemp("guard-env") / "env"
    created = Environment(home, free_port(), free_port())
    subprocess.run(
        [sys.executable, "-m", "jobnaut", "--home", str(home), "init", "--source",
         str(source_repo.path), "--backend-port", str(created.backend_port), "--frontend-port",
         str(created.frontend_port), "--guard"], check=True, capture_output=True)
    yield from _up(created)


class Users:
    """A signed-in user asking for recommendations in a loop; every answer is kept with
    its time."""

    def __init__(self, api: str):
        self.user = UserData(api).create()
        self.api = api
        self.answers: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        headers = {"authorization": f"Bearer {self.user.token}"}
        with httpx.Client(base_url=self.api, timeout=30, headers=headers) as client:
            while not self._stop.is_set():
                try:
                    status = client.get("/api/recommendations", params={"limit": 3}).status_code
                except httpx.TransportError:
                    status = 0
                self.answers.append((time.monotonic(), status))
                time.sleep(0.01)

    def __enter__(self) -> Users:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(30)

    def failures(self) -> list[tuple[float, int]]:
        return [(t, s) for t, s in self.answers if s != 200]

    def recovery(self) -> tuple[float, int]:
        """Seconds from the first failed answer to the first good one after it, and the
        failed answers meanwhile."""
        first_bad = next(t for t, s in self.answers if s != 200)
        first_good = next(t for t, s in self.answers if t > first_bad and s == 200)
        failed = sum(1 for t, s in self.answers if first_bad <= t < first_good and s != 200)
        return first_good - first_bad, failed





def status(env: Environment) -> dict[str, Any]:
    """`status --json` also when it exits 1 (a problem)."""
    return dict(json.loads(env.jobnaut("status", "--json", check=False).stdout))


def timeline(env: Environment) -> list[dict[str, Any]]:
    from jobnaut.ops.ledger import Ledger

    return Ledger(env.home / "ledger.db").events(200)


def release_status(env: Environment, name: str) -> str:
    return next(str(r["status"]) for r in env.releases() if r["id"] == name)


def deploy(env: Environment, commit: str) -> str:
    env.jobnaut("deploy", commit, "-m", "guard test")
    return env.serving_release()


def test_the_guard_runs_beside_the_switch_and_status_says_so(env: Environment) -> None:
    guard = env.json("status")["guard"]
    assert guard["enabled"] and guard["running"] and guard["pid"]
    assert "guard: running" in env.jobnaut("status").stdout


def test_a_healthy_release_under_load_is_not_rolled_back(env: Environment,
                                                         flaky_commit: str) -> None:
    with Users(env.api) as users:
        time.sleep(2)  # a baseline for the release serving now
        release = deploy(env, flaky_commit)
        time.sleep(6)  # in its bake window, under load
    assert env.serving_release() == release and release_status(env, release) == "active"
    assert users.failures() == [] and len(users.answers) > 50
    messages = [e["message"] for e in timeline(env)]
    assert f"guard: baking {release} for 120 s after its switch (deploy)" in messages
    assert not [m for m in messages if "breached" in m or "guard alert" in m], messages
    samples = [s for s in _samples(env) if s["release"] == release]
    assert samples and all(s["phase"] in ("bake", "operation") for s in samples)


def _samples(env: Environment) -> list[dict[str, Any]]:
    from jobnaut.ops.ledger import Ledger

    return Ledger(env.home / "ledger.db").traffic_samples()


def test_a_release_failing_users_is_rolled_back_by_the_guard(
        env: Environment, flaky_commit: str, flags: Path) -> None:
    with Users(env.api) as users:
        time.sleep(2)
        previous = env.serving_release()
        bad = deploy(env, flaky_commit)
        time.sleep(1)
        (flags / bad).touch()  # from now on the new release fails its users
        wait_for(lambda: env.serving_release() == previous, 60, "the guard's rollback")
        time.sleep(1)
    seconds, failed = users.recovery()
    print(f"guard: {seconds:.2f}s from the first failed answer to {previous} serving; "
          f"{failed} failed answers")
    assert seconds < RECOVERY_LIMIT, seconds
    assert users.answers[-1][1] == 200
    # Traffic is back before the rollback's verify and record steps end.
    wait_for(lambda: release_status(env, bad) == "rolled_back", 60, "the rollback to end")
    last = env.json("status")["last_operation"]
    assert last["kind"] == "rollback-code" and last["status"] == "succeeded"
    assert last["args"]["reason"].startswith("guard: backend 5xx ")
    assert "baseline" in last["args"]["reason"]
    messages = [e["message"] for e in timeline(env)]
    assert any(m.startswith(f"guard: {bad} breached its bake window: backend 5xx ")
               for m in messages), messages
    assert any(m.startswith(f"guard: {bad} rolled back to {previous}") for m in messages)
    # …and told people: an incident at the impact measured, now watching the good release.
    incident = next(i for i in env.json("incident", "list", "--all")
                    if i["title"] == f"Errors after release {bad}")
    assert (incident["impact"], incident["state"]) == ("major", "monitoring")


def test_while_an_operation_holds_the_lock_the_guard_records_and_waits(
        env: Environment, flaky_commit: str, flags: Path) -> None:
    with Users(env.api) as users:
        time.sleep(2)
        previous = env.serving_release()
        bad = deploy(env, flaky_commit)
        with _held_lock(env.home / "run" / "operation.lock"):
            (flags / bad).touch()
            wait_for(lambda: any("holds the operation lock" in e["message"]
                                 for e in timeline(env)), 30, "the guard's skip")
            time.sleep(1.5)
            assert env.serving_release() == bad  # it waited
        wait_for(lambda: env.serving_release() == previous, 60, "the rollback after the lock")
    assert users.failures()  # the users did see the bad release while the guard waited
    skips = [e for e in timeline(env) if "holds the operation lock" in e["message"]]
    assert len(skips) == 1, skips  # recorded once, not every tick
    # Traffic is back before the rollback's verify and record steps end: wait for them, or
    # the next test's kill of the backend lands inside this rollback's verify.
    wait_for(lambda: release_status(env, bad) == "rolled_back", 60, "the rollback to end")


class _held_lock:
    """An operator's operation: another process holding the environment's lock."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> None:
        code = ("import fcntl, json, os, sys\n"
                f"f = open({str(self.path)!r}, 'a+')\n"
                "fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
                "f.seek(0); f.truncate()\n"
                "f.write(json.dumps({'kind': 'operator test', 'operation': 99, "
                "'pid': os.getpid()})); f.flush()\n"
                "print('held', flush=True)\n"
                "sys.stdin.read()\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "held"

    def __exit__(self, *exc: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)  # its note names a process that is gone: the lock is free



def test_a_killed_backend_is_restarted_and_recorded(env: Environment) -> None:
    backend = status(env)["services"]["backend"]
    os.kill(backend["pid"], signal.SIGKILL)

    def restarted() -> bool:
        now = status(env)["services"]["backend"]
        return bool(now["pid"] != backend["pid"] and now["alive"] and now["healthy"])

    wait_for(restarted, 60, "the guard to restart the backend")
    assert env.serving_release() == backend["release"]
    assert any(e["message"].startswith(f"guard: restarted backend (pid {backend['pid']} died)")
               for e in timeline(env))
    wait_for(lambda: status(env)["guard"].get("restarts") == {"backend": 1}, 10,
             "status to show the restart")  # the guard rewrites its state every 2 s


def test_a_killed_guard_is_a_problem_until_up_starts_it_again(env: Environment) -> None:
    guard = status(env)["guard"]
    os.kill(guard["pid"], signal.SIGKILL)
    wait_for(lambda: not status(env)["guard"]["running"], 10, "the guard to be gone")
    result = env.jobnaut("status", check=False)
    assert result.returncode == 1 and "the guard is not running" in result.stdout
    env.jobnaut("up")
    again = status(env)["guard"]
    assert again["running"] and again["pid"] != guard["pid"]


def test_a_guard_restarting_a_backend_does_not_start_a_second_guard(env: Environment) -> None:
    """The supervisor restarts through `up`, which ends by making sure a guard runs: inside
    the guard that must not start another one. A guard started by hand (`guard run`, no pid
    file written by `up`) records itself, so nothing else starts a second guard either."""
    from jobnaut.ops.environment import load_home
    from jobnaut.ops.guard import process as guard_process

    guard_process.stop(load_home(env.home))
    first_event = timeline(env)[-1]["id"] + 1
    with (env.home / "logs" / "guard-by-hand.log").open("ab") as out:
        by_hand = subprocess.Popen(
            [sys.executable, "-m", "jobnaut", "--home", str(env.home), "guard", "run"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: status(env)["guard"]["pid"] == by_hand.pid, 30,
                 "the guard started by hand to record itself")
        backend = status(env)["services"]["backend"]
        os.kill(backend["pid"], signal.SIGKILL)
        wait_for(lambda: any(e["message"].startswith(
            f"guard: restarted backend (pid {backend['pid']} died)")
            for e in _events_since(env, first_event)), 60, "the guard to restart the backend")
        assert by_hand.poll() is None, "the guard exited: another one was started"
        assert status(env)["guard"]["pid"] == by_hand.pid
        started = [e["message"] for e in _events_since(env, first_event)
                   if e["message"].startswith("guard started")
                   or "another guard" in e["message"]]
        assert started == [f"guard started (pid {by_hand.pid})"], started
    finally:
        by_hand.terminate()
        by_hand.wait(20)
        env.jobnaut("up")  # the usual guard again, for the tests after this one


def _events_since(env: Environment, first_id: int) -> list[dict[str, Any]]:
    return [e for e in timeline(env) if e["id"] >= first_id]


def _restart_guard(env: Environment, auto_rollback: str) -> None:
    """Set `[guard] auto_rollback` and start the guard again (it reads jobnaut.toml once)."""
    from jobnaut.ops.environment import load_home
    from jobnaut.ops.guard import process as guard_process

    path = env.home / "jobnaut.toml"
    path.write_text(re.sub(r'^auto_rollback = "\w+"', f'auto_rollback = "{auto_rollback}"',
                           path.read_text(), count=1, flags=re.M))
    guard_process.stop(load_home(env.home))
    env.jobnaut("up")


def test_an_alert_is_open_in_health_status_and_metrics_until_the_errors_stop(
        env: Environment, flaky_commit: str, flags: Path) -> None:
    _restart_guard(env, "never")  # alert only: the same path as a breach after the bake
    try:
        with Users(env.api):
            time.sleep(2)
            bad = deploy(env, flaky_commit)
            (flags / bad).touch()
            wait_for(lambda: status(env)["guard"].get("open_alerts"), 30, "an open alert")
            health = env.jobnaut("health", check=False)
            assert health.returncode == 1 and "guard alert" in health.stdout, health.stdout
            text = env.jobnaut("status", check=False).stdout
            assert f"ALERT OPEN: guard alert: {bad} backend" in " ".join(text.split())
            url = status(env)["guard"]["metrics_url"]
            assert url.startswith("http://127.0.0.1:")
            figures = httpx.get(url, timeout=5).text
            assert "jobnaut_guard_open_alerts 1" in figures
            assert f'jobnaut_release_requests{{service="backend",release="{bad}",class="5xx"}}' \
                in figures
            assert httpx.get(url.replace("/metrics", "/other"), timeout=5).status_code == 404
            (flags / bad).unlink()  # the errors stop: the alert closes by itself
            wait_for(lambda: not status(env)["guard"].get("open_alerts"), 60,
                     "the alert to resolve")
        assert env.serving_release() == bad  # "never": the guard did not roll it back
        assert any(e["message"].startswith(f"guard: alert resolved: {bad} backend")
                   for e in timeline(env))
        health = env.jobnaut("health", "--json", check=False)
        guard_checks = [c for c in json.loads(health.stdout)["checks"]
                        if c["name"].startswith("guard")]
        assert [c["ok"] for c in guard_checks] == [True], guard_checks
    finally:
        _restart_guard(env, "bake")


def _followed_deploy(env: Environment, commit: str, flags: Path) -> tuple[str, str, list[str]]:
    """`deploy --follow` of the faulty commit, not at a terminal; the new release starts
    failing once the follow begins. Returns (previous, bad, what the deploy said)."""
    previous = env.serving_release()
    deploying = subprocess.Popen(
        [sys.executable, "-m", "jobnaut", "--home", str(env.home), "deploy", commit,
         "-m", "followed", "--follow"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    assert deploying.stderr is not None
    said: list[str] = []
    bad = ""
    for line in deploying.stderr:  # plain lines
        said.append(line.rstrip())
        found = re.match(r"monitor: following the bake window of (v\d+) ", line)
        if found:
            bad = found.group(1)
            (flags / bad).touch()  # now the new release fails its users
            break
    _, rest = deploying.communicate(timeout=120)
    said += rest.splitlines()
    assert bad and deploying.returncode == 0, "\n".join(said)
    return previous, bad, said


@pytest.fixture()
def dashboard(env: Environment) -> Iterator[str]:
    """`jobnaut dashboard` on a free loopback port; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobnaut", "--home", str(env.home), "dashboard", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    try:
        found = re.match(r"dashboard: (http://127\.0\.0\.1:\d+/) ", line)
        assert found, line + (proc.stdout.read() if proc.poll() is not None else "")
        yield found.group(1)
    finally:
        proc.terminate()
        proc.wait(20)


def test_a_followed_deploy_rolled_back_by_the_guard_in_the_monitor_watch_and_dashboard(
        env: Environment, flaky_commit: str, flags: Path, dashboard: str) -> None:
    """The dashboard is open in the browser during the deploy; the deploy shows the old and
    new release's figures and follows the bake window until the guard's rollback."""
    from playwright.sync_api import Page, expect

    page_open = threading.Event()
    rolled_back = threading.Event()
    seen: dict[str, Any] = {}

    def watch_it(page: Page, url: str) -> None:
        page.goto(url)
        expect(page.locator('[data-chart="backend/rate"] canvas').first).to_be_visible()
        page_open.set()  # the deploy starts now, with the page open
        assert rolled_back.wait(180)
        expect(page.locator("#markers li.rollback").first).to_be_visible(timeout=30_000)
        expect(page.locator("#markers li.alert").first).to_contain_text("breached")
        expect(page.locator("#markers li.switch").first).to_contain_text("switch to")
        errors = page.locator('[data-chart="backend/errors"]')
        expect(errors.locator(".u-legend")).to_contain_text(seen["bad"], timeout=30_000)
        expect(errors.locator(".uplot")).to_have_attribute("data-markers-drawn",
                                                           re.compile(r"^[1-9]"))
        expect(page.locator("#timeline")).to_contain_text(f"guard: {seen['bad']} rolled back")
        expect(page.locator("#serving")).to_contain_text(f"backend {seen['previous']}")

    with Users(env.api), ThreadPoolExecutor(max_workers=1) as pool:
        browsing = pool.submit(in_a_browser, watch_it, dashboard)
        assert page_open.wait(60) or browsing.result(1)
        time.sleep(2.5)  # a few monitor lines of the release serving now
        previous, bad, said = _followed_deploy(env, flaky_commit, flags)
        seen.update(previous=previous, bad=bad)
        # The follow ended with the guard's rollback, and said so.
        assert env.serving_release() == previous
        rolled_back.set()
        assert any(m.startswith(f"monitor: {bad} no longer serves ({previous} does): "
                                f"guard: {bad} ") for m in said), "\n".join(said)
        # Old and new release's figures, while the deploy ran and during the bake.
        figures = [m for m in said if m.startswith("monitor: backend: ")]
        assert any(f"{previous} " in m and "req/s" in m and "p95" in m for m in figures), \
            "\n".join(said)
        assert any(f"{bad} " in m and "5xx" in m for m in figures), "\n".join(said)
        watched = env.jobnaut("watch", "--once").stdout.splitlines()
        snapshot = env.json("watch")
        browsing.result(120)
    wait_for(lambda: release_status(env, bad) == "rolled_back", 60, "the rollback to end")
    # The release the guard rolled back stays warm for a while (ADR 0018): were the verdict
    # wrong, going forward again is a switch.
    standby = env.json("status")["services"].get("standby", [])
    kept = {s["service"] for s in standby if s["release"] == bad and s["role"] == "rolled_back"}
    assert kept == {"backend", "frontend"}, standby
    assert all(s["warm_until"] for s in standby if s["release"] == bad), standby
    assert f"serving: backend {previous}, frontend {previous}" in watched, watched
    assert any(re.match(rf"  backend {previous}: [\d.]+ req/s, 5xx 0\.0% of \d+, p50 \d+ ms",
                        line) for line in watched), watched
    assert any(line.startswith("guard: running (pid ") for line in watched), watched
    assert "last events:" in watched
    assert any(line.startswith("database: sqlite: query ") for line in watched), watched
    assert snapshot["serving"]["backend"] == previous and snapshot["traffic"]


def test_the_frontend_has_metrics_for_loopback_callers_only(env: Environment) -> None:
    assert httpx.get(f"{env.web}/health", timeout=5).status_code == 200
    figures = httpx.get(f"{env.web}/metrics", timeout=5)
    assert figures.status_code == 200
    assert 'jobnaut_http_requests_total{method="GET",route="/health",status="200"}' \
        in figures.text
    # A user's request as the switch forwards it: the client is the user's address.
    port = status(env)["services"]["frontend"]["port"]
    outside = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5,
                        headers={"x-forwarded-for": "203.0.113.9"})
    assert outside.status_code == 404 and "jobnaut_http" not in outside.text


def test_the_live_view_renders_what_watch_json_says(env: Environment) -> None:
    """The terminal view (Rich Live) draws the same snapshot as `watch --json`."""
    from rich.console import Console

    from jobnaut.cli.watch_cmd import render

    snapshot = env.json("watch")
    terminal = Console(record=True, width=140, force_terminal=True)
    terminal.print(render(snapshot))
    shown = terminal.export_text()
    serving = snapshot["serving"]["backend"]
    assert f"serving: backend {serving}" in shown and "traffic, last 10 s" in shown
    assert "guard: running (pid" in shown and "last events" in shown
    assert snapshot["events"][-1]["at"][11:19] in shown  # the newest event's time


# --- a slow release, a bad configuration release ---------------------------------------

SEARCH_LINE = "    found = search.search_jobs(db=db, query=query)"


@pytest.fixture(scope="module")
def slow_search_commit(source_repo: SourceRepo) -> str:
    """Job search takes 2.5 s longer: every check passes (none judges latency)."""
    return source_repo.commit_variant("search-sleeps", {
        "src/jobnaut/app/jobs/routes.py": (
            SEARCH_LINE, f"    import time\n    time.sleep(2.5)\n{SEARCH_LINE}")})


class Searches(Clients):
    """Users searching in parallel (each its own keep-alive connection); every answer is
    kept with its time and duration."""

    def __init__(self, api: str, users: int):
        super().__init__(users)
        self.api = api
        self.answers: list[tuple[float, int, float]] = []

    def _run(self) -> None:
        with httpx.Client(base_url=self.api, timeout=30) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    status = client.get("/api/jobs", params={"q": "python"}).status_code
                except httpx.TransportError:
                    status = 0
                self.answers.append((started, status, time.monotonic() - started))
                time.sleep(0.05)


def newest_release(env: Environment) -> str:
    return max((str(r["id"]) for r in env.releases()), key=lambda name: int(name[1:]))


def test_a_release_slow_in_search_is_rolled_back_by_the_guard(
        env: Environment, slow_search_commit: str) -> None:
    with Searches(env.api, users=24) as load:
        time.sleep(3)  # the baseline: the release serving now, under the same load
        previous = env.serving_release()
        env.jobnaut("deploy", slow_search_commit, "-m", "slow search")
        slow = newest_release(env)
        assert slow != previous
        wait_for(lambda: env.serving_release() == previous, 90, "the guard's rollback")
        back = time.monotonic()
        time.sleep(3)
    wait_for(lambda: release_status(env, slow) == "rolled_back", 60, "the rollback to end")
    last = env.json("status")["last_operation"]
    assert last["kind"] == "rollback-code" and last["status"] == "succeeded"
    assert re.match(r"guard: backend p9[59] ", last["args"]["reason"]), last["args"]["reason"]
    assert any(m.startswith(f"guard: {slow} breached its bake window: backend p9")
               for m in (e["message"] for e in timeline(env)))
    # Users were slowed, never failed; searches sent after the rollback are fast again.
    assert all(status == 200 for _, status, _ in load.answers)
    after = [seconds for started, _, seconds in load.answers if started > back + 1]
    assert after and sorted(after)[len(after) // 2] < 1.0, after


def test_a_configuration_release_that_breaks_the_job_feed_is_rolled_back_as_a_config_rollback(
        env: Environment) -> None:
    """No user request calls the job feed: the guard's probes of the integrations find
    it, against the previous configuration (where it passes), and roll the configuration
    back — not the code."""
    previous = env.serving_release()
    env.jobnaut("config", "set", "JSEARCH_API_URL=http://127.0.0.1:9/broken")
    bad = newest_release(env)
    assert bad != previous
    wait_for(lambda: release_status(env, bad) == "rolled_back", 90,
             "the guard's configuration rollback")
    wait_for(lambda: env.json("status")["last_operation"]["status"] == "succeeded", 60,
             "the configuration rollback to end")
    last = env.json("status")["last_operation"]
    assert last["kind"] == "config" and last["args"]["rollback"] is True
    assert last["args"]["reason"].startswith(
        "guard: rollback config to "), last["args"]["reason"]
    assert "probe external API: job feed failed 3 times in a row" in last["args"]["reason"]
    assert f"passes with {previous}'s configuration" in last["args"]["reason"]
    assert "JSEARCH_API_URL" not in env.jobnaut("config", "show").stdout
    assert env.jobnaut("health", check=False).returncode == 0
    # The configuration rollback is itself a switch; the guard only watches it.
    messages = [e["message"] for e in timeline(env)]
    assert any(m.startswith(f"guard: {bad} breached its bake window: backend probe ")
               for m in messages), messages
