"""Builders for the external commands the control plane runs. They only return argv;
`runner.run` executes them. Keeping the two apart makes dry-runs and tests exact."""

from __future__ import annotations

import sys
from pathlib import Path


def git_resolve(source: Path, ref: str) -> list[str]:
    return ["git", "-C", str(source), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"]


def git_archive(source: Path, commit: str) -> list[str]:
    return ["git", "-C", str(source), "archive", "--format=tar", commit]


def tar_extract(destination: Path) -> list[str]:
    return ["tar", "-x", "-C", str(destination)]


def uv_sync(project: Path) -> list[str]:
    # The release's own virtualenv, exactly as its lock file says; no dev tools.
    return ["uv", "sync", "--frozen", "--no-dev", "--no-editable", "--quiet",
            "--project", str(project), "--python", sys.executable]


def release_python(build: Path) -> str:
    return str(build / ".venv" / "bin" / "python")


def jobnaut_in(build: Path, *args: str) -> list[str]:
    """Run the `jobnaut` of a built release (its code, its migrations)."""
    return [release_python(build), "-m", "jobnaut", *args]
