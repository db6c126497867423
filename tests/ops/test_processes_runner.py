"""The runner's children, as real processes: they die with the `jobnaut` that started
them, a timeout kills their whole group, a pipe never deadlocks, and a failure says what
went wrong (with secrets masked)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jobnaut.ops import children, pids, runner
from jobnaut.ops.errors import OpsError

PY = sys.executable


def _wait_until(predicate: object, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def _records(directory: Path, count: int) -> list[children.ChildRecord]:
    assert _wait_until(lambda: len(children.records(directory)) >= count), "no child recorded"
    return children.records(directory)


def _parent_running(directory: Path, argv: list[str]) -> subprocess.Popen[bytes]:
    """A `jobnaut`-like parent that records its children in `directory` and runs `argv`."""
    script = textwrap.dedent(f"""
        from pathlib import Path
        from jobnaut.ops import children, runner
        children.record_in(Path({str(directory)!r}))
        runner.run({argv!r}, timeout=300)
    """)
    return subprocess.Popen([PY, "-c", script])


def test_child_dies_with_its_killed_parent_and_grandchildren_are_survivors(
        tmp_path: Path) -> None:
    parent = _parent_running(tmp_path, ["sh", "-c", "sleep 120 & wait"])
    [record] = _records(tmp_path, 1)
    assert record.alive() and not record.orphaned()
    assert children.survivors(tmp_path) == []  # its operation still runs
    assert _wait_until(lambda: len(pids.group_members(record.pid)) >= 2)

    parent.send_signal(signal.SIGKILL)
    parent.wait()
    # The kernel kills the child with its parent (PR_SET_PDEATHSIG).
    assert _wait_until(lambda: not record.alive(), 10), "the child outlived its parent"
    # What the child itself started is still in its group: a survivor, then killed.
    [survivor] = children.survivors(tmp_path)
    assert survivor.pid == record.pid
    killed = children.kill_survivors(tmp_path)
    assert [k.pid for k in killed] == [record.pid]
    assert pids.group_members(record.pid) == []
    assert children.records(tmp_path) == []  # nothing left to report


def test_survivors_of_another_running_operation_are_never_touched(tmp_path: Path) -> None:
    parent = _parent_running(tmp_path, ["sleep", "120"])
    try:
        [record] = _records(tmp_path, 1)
        assert children.kill_survivors(tmp_path) == []
        assert record.alive()
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    assert _wait_until(lambda: not record.alive(), 10)


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild.pid"
    started = time.monotonic()
    with pytest.raises(OpsError, match="timed out after 1s"):
        runner.run(["sh", "-c", f"sleep 60 & echo $! > {marker}; wait"], timeout=1)
    assert time.monotonic() - started < 15
    grandchild = int(marker.read_text())
    assert _wait_until(lambda: not pids.same_process(grandchild, None), 5)


def test_failure_shows_the_exception_line_not_leftover_brackets() -> None:
    script = textwrap.dedent("""
        import sys
        sys.stderr.write('''Traceback (most recent call last):
          File "x.py", line 1, in <module>
        sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database is locked
        [SQL:
        CREATE TABLE users (
            id INTEGER,
            password TEXT DEFAULT 's3cret-value'
        )
        ]
        (Background on this error at: https://sqlalche.me/e/20/e3q8)
        ''')
        sys.exit(1)
    """)
    with pytest.raises(OpsError) as caught:
        runner.run([PY, "-c", script, "s3cret-value"], secrets=["s3cret-value"])
    message = caught.value.message
    assert message.endswith(
        "failed (1): sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) database "
        "is locked")
    assert "s3cret-value" not in message and "****" in message


def test_failure_without_an_exception_shows_its_last_lines() -> None:
    with pytest.raises(OpsError) as caught:
        runner.run(["sh", "-c", "echo 'pg_dump: error: connection refused' >&2; echo ')' >&2;"
                                " exit 3"])
    assert caught.value.message.endswith("failed (3): pg_dump: error: connection refused")


def test_pipe_drains_a_producer_that_writes_much_to_stderr(tmp_path: Path) -> None:
    # More than a pipe buffer of errors: a producer whose stderr is never read blocks.
    loud = "import sys; sys.stderr.write('x' * 1_000_000); sys.stdout.write('done')"
    out = tmp_path / "out"
    runner.pipe([PY, "-c", loud], ["sh", "-c", f"cat > {out}"], timeout=20)
    assert out.read_text() == "done"


def test_pipe_timeout_is_an_ops_error_and_kills_both_sides() -> None:
    started = time.monotonic()
    with pytest.raises(OpsError, match="timed out after 1s"):
        runner.pipe(["sleep", "60"], ["cat"], timeout=1)
    assert time.monotonic() - started < 15


def test_pipe_reports_the_side_that_failed(tmp_path: Path) -> None:
    with pytest.raises(OpsError, match=r"`false` failed \(1\)"):
        runner.pipe(["false"], ["cat"], timeout=20)
    with pytest.raises(OpsError, match="tar") as caught:
        runner.pipe(["echo", "not a tar archive"], ["tar", "-x", "-C", str(tmp_path)],
                    timeout=20)
    assert "failed" in caught.value.message


def test_missing_command_is_a_clear_error() -> None:
    with pytest.raises(OpsError, match="command not found: no-such-command-here"):
        runner.run(["no-such-command-here"])
    assert os.getpid() > 0


# --- run_into: a command's output into a file, its checksum taken on the way ------------

def test_run_into_writes_a_private_file_and_its_checksum_matches_a_second_read(
        tmp_path: Path) -> None:
    import hashlib

    output = tmp_path / "dump"
    script = "import sys; [sys.stdout.buffer.write(bytes([i % 251]) * 65537) for i in range(60)]"
    size, sha = runner.run_into([sys.executable, "-c", script], output)
    data = output.read_bytes()
    assert size == len(data) == 60 * 65537
    assert sha == hashlib.sha256(data).hexdigest()
    assert output.stat().st_mode & 0o777 == 0o600


def test_run_into_a_failure_removes_the_partial_file_and_hides_secrets(tmp_path: Path) -> None:
    output = tmp_path / "dump"
    script = ("import sys; sys.stdout.write('half a dump'); sys.stdout.flush(); "
              "sys.exit('password=hunter2-s3cret-value rejected')")
    with pytest.raises(OpsError) as failed:
        runner.run_into([sys.executable, "-c", script], output,
                        secrets=["hunter2-s3cret-value"])
    assert "rejected" in failed.value.message and "hunter2" not in str(failed.value)
    assert not output.exists()


def test_run_into_never_overwrites_a_file_and_times_out_cleanly(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.write_text("earlier backup")
    with pytest.raises(FileExistsError):
        runner.run_into([sys.executable, "-c", "print('x')"], kept)
    assert kept.read_text() == "earlier backup"
    output = tmp_path / "slow"
    script = "import sys, time; sys.stdout.write('x'); sys.stdout.flush(); time.sleep(60)"
    started = time.monotonic()
    with pytest.raises(OpsError, match="timed out after 1s"):
        runner.run_into([sys.executable, "-c", script], output, timeout=1)
    assert time.monotonic() - started < 30 and not output.exists()
