"""The guard, measured: how fast a bad release is rolled back, and whether a healthy one
ever is.

Not a test: it prints figures. It makes a git repository of this checkout with one more
commit, whose /api/recommendations answers 500 once a flag file named after the release
exists (the release passes every pre-traffic check). Then, in a fresh environment with
the Caddy switch and the guard, with a signed-in client asking for recommendations in a
loop:

- bad runs (`--runs`): deploy that commit, raise its flag, and measure the time from the
  first failed answer to the first good one (the previous release serving again), and the
  answers that failed meanwhile;
- healthy run (`--healthy-seconds`): deploy the same commit without raising the flag,
  again after every bake window, under a mixed load (recommendations, search, web pages),
  and count the guard's rollbacks and alerts (false positives: the goal is 0).

    .venv/bin/python bench/guard_bench.py [--runs 5] [--healthy-seconds 600]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchkit import Threads, free_port, git, source_copy
from jobnaut.ops.ledger import Ledger

REPO = Path(__file__).resolve().parents[1]
FAULT_FILE = "src/jobnaut/app/matching/routes.py"
FAULT_LINE = "    ranked = recommend(db=db, profile=profile, limit=limit)"


def source_with_fault(root: Path, flags: Path) -> tuple[Path, str]:
    """A copy of this checkout as a git repository; returns it and the faulty commit."""
    repo = source_copy(root)
    path = repo / FAULT_FILE
    text = path.read_text()
    assert FAULT_LINE in text, "the fault's anchor line moved: update FAULT_LINE"
    path.write_text(text.replace(FAULT_LINE, (
        f"    import os, pathlib\n"
        f"    if (pathlib.Path({str(flags)!r}) / os.environ.get('JOBNAUT_RELEASE', '-'))"
        f".exists():\n"
        f"        raise RuntimeError('faulty release: recommendations are broken')\n"
        + FAULT_LINE), 1))
    git(repo, "commit", "-qam", "recommendations fail on a flag")
    return repo, git(repo, "rev-parse", "HEAD")


class Env:
    def __init__(self, home: Path):
        self.home = home
        self.api_port, self.web_port = free_port(), free_port()

    def jobnaut(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "jobnaut", "--home", str(self.home),
                                 *args], capture_output=True, text=True, timeout=600,
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"jobnaut {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def serving(self) -> str:
        return str(httpx.get(f"{self.api}/version", timeout=10).json()["release"])

    def events(self) -> list[dict[str, Any]]:
        return Ledger(self.home / "ledger.db").events(100_000)


class Load(Threads):
    """Clients in threads; every answer to the watched path is kept with its time."""

    def __init__(self, env: Env, token: str, mixed: bool):
        self.env, self.token, self.mixed = env, token, mixed
        self.answers: list[tuple[float, int]] = []
        self.others = [0, 0]  # ok, failed (the other paths of a mixed load)
        super().__init__(self._recommendations, *([self._browse] if mixed else []))

    def _recommendations(self) -> None:
        with httpx.Client(base_url=self.env.api, timeout=30,
                          headers={"authorization": f"Bearer {self.token}"}) as client:
            while not self._stop.is_set():
                try:
                    status = client.get("/api/recommendations",
                                        params={"limit": 3}).status_code
                except httpx.TransportError:
                    status = 0
                self.answers.append((time.monotonic(), status))
                time.sleep(0.01)

    def _browse(self) -> None:
        urls = [f"{self.env.api}/api/jobs?q=python&per_page=5",
                f"http://127.0.0.1:{self.env.web_port}/jobs?q=engineer",
                f"{self.env.api}/api/jobs?per_page=20"]
        with httpx.Client(timeout=30) as client:
            sent = 0
            while not self._stop.is_set():
                try:
                    ok = client.get(urls[sent % len(urls)]).status_code < 500
                except httpx.TransportError:
                    ok = False
                self.others[0 if ok else 1] += 1
                sent += 1
                time.sleep(0.02)



def sign_up(env: Env) -> str:
    response = httpx.post(f"{env.api}/api/auth/signup", timeout=30, json={
        "email": f"bench-{time.time_ns()}@example.com", "password": "correct horse battery"})
    response.raise_for_status()
    return str(response.json()["token"])


def bad_run(env: Env, commit: str, flags: Path, token: str) -> tuple[float, int, float]:
    """(seconds to recovery, failed answers meanwhile, seconds from the guard's breach
    event to the end of its rollback operation)."""
    with Load(env, token, mixed=False) as load:
        time.sleep(3)  # the previous release's baseline
        previous = env.serving()
        env.jobnaut("deploy", commit, "-m", "guard bench")
        bad = env.serving()
        time.sleep(2)
        (flags / bad).touch()
        deadline = time.monotonic() + 120
        while env.serving() != previous:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the guard did not roll {bad} back within 120 s")
            time.sleep(0.1)
        time.sleep(1)
    first_bad = next(t for t, s in load.answers if s != 200)
    first_good = next(t for t, s in load.answers if t > first_bad and s == 200)
    failed = sum(1 for t, s in load.answers if first_bad <= t < first_good and s != 200)
    return first_good - first_bad, failed, _rollback_seconds(env, bad)


def _rollback_seconds(env: Env, bad: str) -> float:
    from datetime import datetime

    deadline = time.monotonic() + 60  # the operation goes on after the switch (verify)
    while True:
        events = env.events()
        done = [e for e in events if e["message"].startswith(f"guard: {bad} rolled back")]
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    breach = next(e for e in events if e["message"].startswith(f"guard: {bad} breached its"))
    if not done:
        raise RuntimeError(f"the guard's rollback of {bad} did not finish within 60 s")
    done = done[:1]
    return (datetime.fromisoformat(done[0]["at"]) - datetime.fromisoformat(breach["at"])
            ).total_seconds()


def healthy_run(env: Env, commit: str, token: str, seconds: float, bake: float
                ) -> tuple[int, int, int, int]:
    """(deploys, guard rollbacks, guard alerts, answers) over `seconds` of mixed load."""
    seen = max((e["id"] for e in env.events()), default=0)
    deploys = 0
    with Load(env, token, mixed=True) as load:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(min(5.0, max(0.0, end - time.monotonic())))
            env.jobnaut("deploy", commit, "-m", "guard bench: healthy")
            deploys += 1
            time.sleep(max(0.0, min(bake, end - time.monotonic())))
    new = [e["message"] for e in env.events() if e["id"] > seen]
    rollbacks = sum(1 for m in new if " breached its bake window" in m)
    alerts = sum(1 for m in new if m.startswith("guard alert"))
    return deploys, rollbacks, alerts, len(load.answers) + sum(load.others)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--healthy-seconds", type=float, default=600)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="guard-bench-"))
    flags = root / "flags"
    flags.mkdir()
    repo, commit = source_with_fault(root, flags)
    env = Env(root / "env")
    env.jobnaut("init", "--source", str(repo), "--backend-port", str(env.api_port),
                "--frontend-port", str(env.web_port), "--guard")
    try:
        env.jobnaut("up")
        token = sign_up(env)
        results = []
        for run in range(1, args.runs + 1):
            seconds, failed, rollback = bad_run(env, commit, flags, token)
            results.append((seconds, failed, rollback))
            print(f"bad run {run}: {seconds:.2f} s from the first failed answer to the previous "
                  f"release serving; {failed} failed answers; the guard's rollback operation "
                  f"took {rollback:.2f} s (from the breach to its end, after retire and "
                  f"verify)", flush=True)
        recovery = [r[0] for r in results]
        print(f"recovery over {len(results)} runs: p50 {statistics.median(recovery):.2f} s, "
              f"max {max(recovery):.2f} s; failed answers p50 "
              f"{statistics.median(r[1] for r in results):.0f}, max {max(r[1] for r in results)}")
        if args.healthy_seconds > 0:
            deploys, rollbacks, alerts, answers = healthy_run(
                env, commit, token, args.healthy_seconds, bake=120)
            print(f"healthy run: {args.healthy_seconds:.0f} s, {deploys} deploys, {answers} "
                  f"answers: {rollbacks} false rollbacks, {alerts} false alerts")
    finally:
        subprocess.run([sys.executable, "-m", "jobnaut", "--home", str(env.home), "down"],
                       capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
