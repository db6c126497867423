"""Release artifacts: the files of one commit and their own virtualenv, built once per
commit under `builds/<sha>` and shared by every release of that commit."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
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
    working tree: files come from `git archive` of the commit.

    The build is made in a private folder and renamed into place when complete, under a
    lock per commit: two commands building the same commit wait for each other, and
    neither ever deletes a build the other is making."""
    if is_built(build_dir):
        return False
    with _build_lock(build_dir):
        if is_built(build_dir):  # another command finished it while we waited
            return False
        # Left by a build that was killed: nobody else holds this commit's lock.
        for stale in build_dir.parent.glob(f".{build_dir.name}.*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(build_dir, ignore_errors=True)  # an incomplete build of older code
        work = build_dir.parent / f".{build_dir.name}.{os.getpid()}"
        try:
            _build_into(source, commit, work)
            work.rename(build_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return True


def _build_into(source: Path, commit: str, work: Path) -> None:
    work.mkdir(parents=True)
    runner.pipe(commands.git_archive(source, commit), commands.tar_extract(work))
    if not (work / "pyproject.toml").exists():
        raise OpsError(f"commit {commit[:12]} has no pyproject.toml: not a JobNaut source tree")
    # The release runs as `.venv/bin/python -m jobnaut`, so its virtualenv may be moved.
    runner.run(commands.uv_sync(work), env={"UV_PROJECT_ENVIRONMENT": str(work / ".venv")},
               timeout=900)
    (work / COMPLETE_MARKER).write_text(commit + "\n")


@contextmanager
def _build_lock(build_dir: Path) -> Iterator[None]:
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    with (build_dir.parent / f".{build_dir.name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released by the kernel if this process dies
        yield


def expected_schema(build_dir: Path) -> str:
    out = runner.run(commands.jobnaut_in(build_dir, "schema", "expected"), timeout=120)
    return out.strip().splitlines()[-1] if out.strip() else ""


def remove(build_dir: Path) -> None:
    shutil.rmtree(build_dir, ignore_errors=True)
