"""The private Docker engine of the compose tests (scripts/docker-engine): started on
demand as root, or skipped with the reason when it cannot be had."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "docker-engine"


@dataclass(frozen=True)
class DockerEngine:
    host: str | None  # DOCKER_HOST; None when there is no engine
    base_image: str
    db_image: str = ""
    reason: str = ""

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host or ""}

    def docker(self, *args: str) -> str:
        return subprocess.run(["docker", *args], env=self.env(), capture_output=True,
                              text=True, check=True, timeout=120).stdout


def start_engine() -> DockerEngine:
    """The engine scripts/test started (its variables), else started here (idempotent)."""
    if os.getuid() != 0:
        return DockerEngine(None, "", reason="the private Docker engine needs root")
    try:
        result = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True,
                                timeout=900, cwd=REPO_ROOT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return DockerEngine(None, "", reason=f"scripts/docker-engine could not run: {exc}")
    if result.returncode != 0:
        said = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return DockerEngine(None, "", reason=f"scripts/docker-engine start failed: {said}")
    found = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    os.environ["DOCKER_CONFIG"] = found["DOCKER_CONFIG"]  # where Compose v2 is linked
    return DockerEngine(found["DOCKER_HOST"], found["JOBNAUT_TEST_BASE_IMAGE"],
                        found["JOBNAUT_TEST_DB_IMAGE"])
