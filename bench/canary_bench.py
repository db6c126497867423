"""Canary deploys, measured: how many users a bad canary fails, and for how long.

Not a test: it prints figures. The same faulty commit as guard_bench.py (its
/api/recommendations answers 500 once a flag file named after the release exists), in a
fresh environment with `[deploy] canary = [5, 25, 100]`. New sessions (a new connection
and no cookie each, a signed-in user's token) ask for recommendations in a few threads.
Each run deploys the commit and raises its flag as soon as the canary takes its 5 %, then
measures from the first failed answer to the last one (every session back on the
previous release), the failed answers, and their share of all answers meanwhile.

    .venv/bin/python bench/canary_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchkit import Threads
from guard_bench import Env, sign_up, source_with_fault
from jobnaut.ops.ledger import Ledger


class NewSessions(Threads):
    def __init__(self, env: Env, token: str, threads: int = 4):
        self.env, self.token = env, token
        self.answers: list[tuple[float, int]] = []
        super().__init__(*[self._run] * threads)

    def _run(self) -> None:
        while not self._stop.is_set():
            connection = http.client.HTTPConnection("127.0.0.1", self.env.api_port, timeout=30)
            try:
                connection.request("GET", "/api/recommendations?limit=3",
                                   headers={"authorization": f"Bearer {self.token}"})
                status = connection.getresponse().status
            except OSError:
                status = 0
            finally:
                connection.close()
            self.answers.append((time.monotonic(), status))



def bad_run(env: Env, commit: str, flags: Path, token: str) -> tuple[float, int, int, str]:
    """(seconds from the first failed answer to the last, failed answers, answers in that
    span, the deploy's verdict line)."""
    ledger = Ledger(env.home / "ledger.db")
    with NewSessions(env, token) as load:
        time.sleep(3)
        deploying = subprocess.Popen(
            [sys.executable, "-m", "jobnaut", "--home", str(env.home), "deploy", commit,
             "-m", "canary bench"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while not (raw := ledger.get_state("canary")) or "step" not in json.loads(raw):
            if time.monotonic() > deadline or deploying.poll() is not None:
                raise RuntimeError("the canary did not start")
            time.sleep(0.1)
        (flags / json.loads(raw)["release"]).touch()
        out, _ = deploying.communicate(timeout=600)
        time.sleep(2)
    if deploying.returncode == 0:
        raise RuntimeError(f"the bad canary was promoted:\n{out}")
    failed = [t for t, s in load.answers if s != 200]
    first, last = failed[0], failed[-1]
    span = [s for t, s in load.answers if first <= t <= last]
    verdict = next((line for line in out.splitlines() if "breached" in line), "?")
    return last - first, len(failed), len(span), verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="canary-bench-"))
    flags = root / "flags"
    flags.mkdir()
    repo, commit = source_with_fault(root, flags)
    env = Env(root / "env")
    env.jobnaut("init", "--source", str(repo), "--backend-port", str(env.api_port),
                "--frontend-port", str(env.web_port), "--no-guard")
    try:
        env.jobnaut("up")
        config = env.home / "jobnaut.toml"
        config.write_text(re.sub(r"^# canary = .*$", "canary = [5, 25, 100]",
                                 config.read_text(), count=1, flags=re.M))
        token = sign_up(env)
        results = []
        for run in range(1, args.runs + 1):
            seconds, failed, answers, verdict = bad_run(env, commit, flags, token)
            results.append((seconds, failed, answers))
            print(f"canary run {run}: {seconds:.2f} s from the first failed answer to the "
                  f"last; {failed} failed of {answers} answers meanwhile "
                  f"({failed / answers:.0%}); {verdict.strip()}", flush=True)
        spans = [r[0] for r in results]
        print(f"over {len(results)} runs: failing for p50 {statistics.median(spans):.2f} s, "
              f"max {max(spans):.2f} s; failed answers p50 "
              f"{statistics.median(r[1] for r in results):.0f}, max "
              f"{max(r[1] for r in results)}; share of answers failed meanwhile p50 "
              f"{statistics.median(r[1] / r[2] for r in results):.0%}")
    finally:
        subprocess.run([sys.executable, "-m", "jobnaut", "--home", str(env.home), "down"],
                       capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
