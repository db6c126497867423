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

EXPECTED_SCHEMA_FILE = ".jobnaut-expected-schema"
COMPLETE_MARKER = ".jobnaut-build-complete"
# A folder of complete builds shared by the environments of one host (a test session's
# environments, staging and production): a commit built once there is hard-linked into each
# environment's `builds/`. A build is the same for every environment (`git archive` of the
# commit, `uv sync --frozen`), and nothing writes into a build after it is complete.
CACHE_VARIABLE = "JOBNAUT_BUILD_CACHE"


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
        cache = _shared_cache(build_dir)
        try:
            if cache is None:
                _build_into(source, commit, work)
            else:
                build(source, commit, cache / commit)  # once per host, under its own lock
                _link_tree(cache / commit, work)
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
    expected_schema(work)  # once per build: a deploy of a built commit reads the file
    (work / COMPLETE_MARKER).write_text(commit + "\n")


def _shared_cache(build_dir: Path) -> Path | None:
    folder = os.environ.get(CACHE_VARIABLE)
    if not folder or Path(folder).resolve() == build_dir.parent.resolve():
        return None
    return Path(folder).resolve()


def _link_tree(cached: Path, work: Path) -> None:
    """Hard links, not copies: a build is ~140 MB and linking takes a fraction of a second.
    Removing (pruning) the linked copy leaves the cache whole. Copies across filesystems."""
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(cached, work, symlinks=True, copy_function=link)


@contextmanager
def _build_lock(build_dir: Path) -> Iterator[None]:
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    with (build_dir.parent / f".{build_dir.name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released by the kernel if this process dies
        yield


def expected_schema(build_dir: Path) -> str:
    """The schema revision the build's code expects: asked of the build once (a process
    that imports Alembic, ~0.6 s), then read from a file in it (a build never changes)."""
    cached = build_dir / EXPECTED_SCHEMA_FILE
    try:
        return cached.read_text().strip()
    except FileNotFoundError:
        pass
    out = runner.run(commands.jobnaut_in(build_dir, "schema", "expected"), timeout=120)
    revision = out.strip().splitlines()[-1] if out.strip() else ""
    temporary = cached.with_name(f".{cached.name}.{os.getpid()}")
    temporary.write_text(revision + "\n")
    os.replace(temporary, cached)
    return revision


def remove(build_dir: Path) -> None:
    shutil.rmtree(build_dir, ignore_errors=True)
