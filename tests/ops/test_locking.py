"""One operation at a time: the lock is taken by the actions in `ops`, whoever calls them,
and two builds of one commit never destroy each other."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobnaut.ops import build, lock
from jobnaut.ops.errors import OpsError
from tests.ops.conftest import Environment, SourceRepo, make_environment


@pytest.fixture(scope="module")
def fresh(source_repo: SourceRepo, tmp_path_factory: pytest.TempPathFactory) -> Environment:
    return make_environment(tmp_path_factory.mktemp("locking") / "env", source_repo, None)


@pytest.mark.parametrize("command", [
    ("backup", "create"), ("freeze", "--reason", "x"), ("freeze", "--lift", "--reason", "x"),
    ("deploy", "--dry-run"), ("up",), ("down",),
])
def test_commands_that_change_or_plan_wait_for_the_lock(fresh: Environment,
                                                        command: tuple[str, ...]) -> None:
    ledger_before = (fresh.home / "ledger.db").read_bytes()
    with lock.operation_lock(_lock_path(fresh), {"kind": "test", "operation": 7}):
        result = fresh.jobnaut(*command, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "another operation is running: test #7" in result.stderr
    assert (fresh.home / "ledger.db").read_bytes() == ledger_before


def _lock_path(env: Environment) -> Path:
    from jobnaut.ops.environment import load_home

    return load_home(env.home).lock_path


def test_reentrant_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with lock.operation_lock(path, {"kind": "outer"}), lock.operation_lock(path, {"kind": "in"}):
        pass
    # Released afterwards: another process can take it.
    taken = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from jobnaut.ops import "
         "lock\nwith lock.operation_lock(Path(sys.argv[1]), {'kind': 'other'}): pass", str(path)],
        capture_output=True, text=True)
    assert taken.returncode == 0, taken.stderr


HOLD = ("import contextlib, sys, time; from pathlib import Path; from jobnaut.ops import lock\n"
        "brief = lock.brief() if sys.argv[2] == 'brief' else contextlib.nullcontext()\n"
        "with brief, lock.operation_lock(Path(sys.argv[1]), {'kind': 'guard housekeeping'}):\n"
        "    print('held', flush=True); time.sleep(float(sys.argv[3]))\n"
        "    Path(sys.argv[1] + '.finished').touch()")


def _holding(path: Path, kind: str, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), kind, str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_an_operator_waits_for_the_guards_brief_housekeeping(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = _holding(path, "brief", 1.0)
    with lock.operation_lock(path, {"kind": "deploy", "operation": 3}):
        # Taken only once the housekeeping finished: never two holders at once.
        assert (tmp_path / "lock.finished").exists()
        assert lock.holder(path) == {"kind": "deploy", "operation": 3, "pid": os.getpid()}
    holder.wait()


def test_an_operation_is_refused_at_once_and_the_guard_never_waits(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = _holding(path, "plain", 30.0)
    try:
        refused = pytest.raises(OpsError, match="another operation is running: guard housekeeping")
        with refused, lock.operation_lock(path, {"kind": "deploy"}):
            pass
    finally:
        holder.kill()
        holder.wait()
    holder = _holding(path, "brief", 30.0)
    try:
        refused = pytest.raises(OpsError, match="another operation is running")
        with refused, lock.brief(), lock.operation_lock(path, {"kind": "retire"}):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_two_builds_of_one_commit_wait_for_each_other(source_repo: SourceRepo, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(build.CACHE_VARIABLE)  # the real build, not a link from the cache
    commit = build.resolve_ref(source_repo.path, "main")
    target = tmp_path / "builds" / commit
    script = ("import sys; from pathlib import Path; from jobnaut.ops import build\n"
              "print(build.build(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])))")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(source_repo.path), commit,
                              str(target)], stdout=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = sorted(p.communicate(timeout=600)[0].strip() for p in runs)
    assert [p.returncode for p in runs] == [0, 0]
    assert outputs == ["False", "True"]  # one built, the other found it built
    assert build.is_built(target)
    # The build asked its code which schema it expects, once; a deploy reads the answer.
    expected = (target / build.EXPECTED_SCHEMA_FILE).read_text().strip()
    assert expected and build.expected_schema(target) == expected
    leftovers = [p.name for p in target.parent.iterdir() if p.name.startswith(f".{commit}.")
                 and p.is_dir()]
    assert leftovers == []


def test_a_killed_build_leaves_no_half_build_in_place(source_repo: SourceRepo,
                                                      tmp_path: Path) -> None:
    # Through the session's build cache: the stale folder is the environment's own.
    commit = build.resolve_ref(source_repo.path, "main")
    target = tmp_path / "builds" / commit
    # A folder left by a build killed mid-way, as an older version would have left it.
    stale = target.parent / f".{commit}.99999"
    stale.mkdir(parents=True)
    (stale / "half").write_text("x")
    assert build.build(source_repo.path, commit, target)
    assert not stale.exists() and build.is_built(target)


def test_builds_from_the_shared_cache_are_links_and_pruning_one_spares_the_cache(
        source_repo: SourceRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv(build.CACHE_VARIABLE, str(cache))
    commit = build.resolve_ref(source_repo.path, "main")
    first, second = (tmp_path / name / "builds" / commit for name in ("staging", "production"))

    assert build.build(source_repo.path, commit, first)
    assert build.is_built(cache / commit)
    marker = cache / commit / build.COMPLETE_MARKER
    # Built once: the second environment's build is the same files, linked.
    assert build.build(source_repo.path, commit, second)
    for built in (first, second):
        assert build.is_built(built)
        assert (built / build.COMPLETE_MARKER).stat().st_ino == marker.stat().st_ino
        assert (built / ".venv" / "bin" / "python").is_symlink()
        assert (built / build.EXPECTED_SCHEMA_FILE).stat().st_ino == \
            (cache / commit / build.EXPECTED_SCHEMA_FILE).stat().st_ino
    assert build.expected_schema(second)

    build.remove(first)  # as prune does
    assert build.is_built(cache / commit) and build.is_built(second)
    assert build.expected_schema(second)
