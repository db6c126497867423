"""Release artifacts: the files of one commit and their own virtualenv, built once per
commit under `builds/<sha>` and shared by every release of that commit."""

from __future__ import annotations

import shutil
from pathlib import Path

from jobnaut.ops import commands, runner
from jobnaut.ops.errors import OpsError

COMPLETE_MARKER = ".jobnaut-build-complete"


def resolve_ref(source: Path, ref: str) -> str:
    if not (source / ".git").exists() and not (source / "HEAD").exists():
        raise OpsError(f"source {source} is not a git repository",
                       hint="set [environment] source in jobnaut.toml")
    try:
        return runner.run(commands.git_resolve(source, ref)).strip()
    except OpsError:
        raise OpsError(f"ref {ref!r} does not exist in {source}",
                       hint="give a branch, tag or commit of the source repository") from None


def is_built(build_dir: Path) -> bool:
    return (build_dir / COMPLETE_MARKER).exists()


def build(source: Path, commit: str, build_dir: Path) -> bool:
    """Build the artifact for `commit`; False if it was already there. Never reads the live
    working tree: files come from `git archive` of the commit."""
    if is_built(build_dir):
        return False
    # An incomplete build (a crash mid-way) is discarded and made again from scratch.
    shutil.rmtree(build_dir, ignore_errors=True)
    build_dir.mkdir(parents=True)
    runner.pipe(commands.git_archive(source, commit), commands.tar_extract(build_dir))
    if not (build_dir / "pyproject.toml").exists():
        raise OpsError(f"commit {commit[:12]} has no pyproject.toml: not a JobNaut source tree")
    venv = {"UV_PROJECT_ENVIRONMENT": str(build_dir / ".venv")}
    runner.run(commands.uv_sync(build_dir), env=venv, timeout=900)
    (build_dir / COMPLETE_MARKER).write_text(commit + "\n")
    return True


def expected_schema(build_dir: Path) -> str:
    out = runner.run(commands.jobnaut_in(build_dir, "schema", "expected"), timeout=120)
    return out.strip().splitlines()[-1] if out.strip() else ""


def remove(build_dir: Path) -> None:
    shutil.rmtree(build_dir, ignore_errors=True)
