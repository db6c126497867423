"""What a scenario works with: the staging environment driven through the real `jobnaut`
command (as an operator would), faulty commits in the staging home's own source clone,
the synthetic load, and a record of what happened when."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobnaut.ops import runner
from jobnaut.ops.context import Env
from jobnaut.ops.drills.load import SyntheticLoad
from jobnaut.ops.errors import OpsError

COMMAND_TIMEOUT = 600.0
DRILL_BRANCH = "jobnaut-drill/"
# Fixed identity and dates: the same fault on the same release is the same commit (and
# build) every month, and nothing personal is written into the clone.
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "jobnaut drill", "GIT_AUTHOR_EMAIL": "drill@jobnaut.invalid",
                "GIT_COMMITTER_NAME": "jobnaut drill",
                "GIT_COMMITTER_EMAIL": "drill@jobnaut.invalid",
                "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
                "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00"}


class DrillFailed(OpsError):
    """The drill could not go on (a step that must work did not): recorded as an error."""


@dataclass
class Outcome:
    """One fault and the recovery from it. Times are wall-clock seconds."""

    case: str
    injected: float
    detected: float | None = None
    recovered: float | None = None
    caught: bool = False  # stopped before it reached users (refused, a failed verify)
    announced_rows: int | None = None  # a restore: the rows its report said it discards
    rto: float | None = None  # the backup scenario: seconds to restore the last good backup
    detail: str = ""


@dataclass
class Drill:
    env: Env
    load: SyntheticLoad | None
    phases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.env.home.root

    def phase(self, name: str, detail: str = "") -> float:
        at = time.time()
        self.phases.append({"at": round(at, 3), "name": name, "detail": detail})
        self.env.ledger.event(f"drill: {name}" + (f" — {detail}" if detail else ""))
        return at

    def jobnaut(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`jobnaut --home STAGING ARGS…` in a process of its own, as an operator runs it."""
        result = subprocess.run([sys.executable, "-m", "jobnaut", "--home", str(self.root),
                                 *args], capture_output=True, text=True,
                                timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["(no output)"])[-2:]
            raise DrillFailed(f"`jobnaut {' '.join(args[:3])}` failed: {' '.join(last)}")
        return result

    def json(self, *args: str, check: bool = True) -> Any:
        result = self.jobnaut(*args, "--json", check=check)
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError:
            return {"stdout": result.stdout, "stderr": result.stderr,
                    "exit": result.returncode}

    def commit_fault(self, name: str, edits: dict[str, tuple[str, str]],
                     new_files: dict[str, str] | None = None) -> str:
        """A commit on branch jobnaut-drill/NAME of the staging source clone: the active
        release's tree with `edits` (old → new text) and `new_files` applied."""
        source = self.env.home.config.source
        base = self.env.require_active().ref
        work = self.root / "drill-work"
        if work.exists():
            runner.run(["git", "-C", str(source), "worktree", "remove", "--force", str(work)])
        runner.run(["git", "-C", str(source), "worktree", "add", "--quiet", "--force", "-B",
                    DRILL_BRANCH + name, str(work), base])
        try:
            for relative, (old, new) in edits.items():
                path = work / relative
                text = path.read_text()
                if old not in text:
                    raise DrillFailed(f"the active release's {relative} has changed: the "
                                      f"{name} fault cannot be applied")
                path.write_text(text.replace(old, new, 1))
            for relative, text in (new_files or {}).items():
                (work / relative).write_text(text)
            env = {**os.environ, **GIT_IDENTITY}
            subprocess.run(["git", "-C", str(work), "add", "-A"], check=True, env=env)
            subprocess.run(["git", "-C", str(work), "commit", "--quiet", "-m",
                            f"drill fault: {name}"], check=True, env=env)
            return runner.run(["git", "-C", str(work), "rev-parse", "HEAD"]).strip()
        finally:
            runner.run(["git", "-C", str(source), "worktree", "remove", "--force", str(work)])

    def failures_since(self, at: float) -> int:
        return sum(1 for s in self.load.samples_since(at) if not s.ok) if self.load else 0

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = 60,
                 every: float = 0.2) -> float:
        """Poll until `condition` holds; the time it did. A drill that waits in vain fails."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return time.time()
            time.sleep(every)
        raise DrillFailed(f"{what}: not within {timeout:.0f} s")

    def wait_users_hurt(self, since: float, timeout: float = 60) -> float:
        """Detection by the drill's own monitor: the load saw requests fail."""
        return self.wait_for("users seeing failures", lambda: self.failures_since(since) >= 2,
                             timeout)

    def wait_served(self, since: float, quiet: float = 2.0, timeout: float = 90) -> float:
        """Recovery as users see it: the first moment after which `quiet` seconds of load
        requests all succeeded (their start time)."""
        def steady() -> bool:
            recent = self.load.samples_since(time.time() - quiet) if self.load else []
            return bool(recent) and all(s.ok for s in recent) and \
                time.time() - quiet >= since

        self.wait_for("users served again", steady, timeout)
        return self.last_failure(since) or since

    def last_failure(self, since: float) -> float | None:
        failed = [s.at + s.latency for s in self.load.samples_since(since) if not s.ok] \
            if self.load else []
        return max(failed) if failed else None
