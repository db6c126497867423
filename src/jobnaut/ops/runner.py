"""The one place external commands run: secrets kept out of what is shown, failures made
into OpsError with the command's own last words.

Every child dies with the operation: it leads its own process group (a timeout kills the
whole group), the kernel kills it when the `jobnaut` that started it dies (Linux
PR_SET_PDEATHSIG), and it is recorded while it runs (see `children`)."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from jobnaut.ops import children
from jobnaut.ops.errors import OpsError
from jobnaut.ops.secrets import mask

PR_SET_PDEATHSIG = 1
# Loaded once in the parent: the child between fork and exec must not load libraries.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None

# `pkg.module.SomethingError: message` — the line of a traceback that says what went wrong.
_EXCEPTION_LINE = re.compile(
    r"^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Failure|Timeout)"
    r"(?::\s|$)")
_FRAME_CHARS = " \t│┃|╭╮╰╯─━"
MAX_WORDS = 500


def display(argv: Sequence[str], secrets: Sequence[str] = ()) -> str:
    return mask(shlex.join(argv), secrets)


def last_words(output: bytes | str, secrets: Sequence[str] = (), lines: int = 3) -> str:
    """What a failed command said that matters: its last exception line (or jobnaut's own
    FAILED line), else its last few lines that hold any words — never bare brackets left
    over from a multi-line SQL statement."""
    text = output.decode(errors="replace") if isinstance(output, bytes) else output
    meaningful = [line.strip(_FRAME_CHARS) for line in text.splitlines()]
    meaningful = [line for line in meaningful if any(c.isalnum() for c in line)]
    chosen = next((line.removeprefix("FAILED:").strip() for line in reversed(meaningful)
                   if line.startswith("FAILED:") or _EXCEPTION_LINE.match(line)), None)
    if chosen is None:
        chosen = " | ".join(meaningful[-lines:]) or "(no output)"
    if len(chosen) > MAX_WORDS:
        chosen = chosen[:MAX_WORDS] + "…"
    return mask(chosen, secrets)


def _dies_with_parent(parent: int) -> Callable[[], None]:
    def setup() -> None:  # runs in the child between fork and exec
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGKILL)
    return setup


def _start(argv: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(list(argv), process_group=0,
                                preexec_fn=_dies_with_parent(os.getpid()), **options)
    except FileNotFoundError:
        raise OpsError(f"command not found: {argv[0]}", hint="install it or put it on PATH "
                       "(for uv: `python3 -m pip install --user uv`)") from None


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group, and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
    timeout: float = 600,
    stdin: bytes | None = None,
    cwd: str | None = None,
) -> str:
    proc = _start(argv, env={**os.environ, **(env or {})}, cwd=cwd,
                  stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    note = children.started(proc.pid, display(argv, secrets))
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise OpsError(f"timed out after {timeout:.0f}s: {display(argv, secrets)}") from None
    except BaseException:  # interrupted: the child must not go on without us
        _kill(proc)
        raise
    finally:
        children.ended(note)
    if proc.returncode != 0:
        raise OpsError(f"`{display(argv, secrets)}` failed ({proc.returncode}): "
                       f"{last_words(err or out, secrets)}")
    return out.decode(errors="replace")


def run_into(argv: Sequence[str], output: Path, *, env: Mapping[str, str] | None = None,
             secrets: Sequence[str] = (), timeout: float = 600) -> tuple[int, str]:
    """Run `argv`, writing what it prints into `output` (a new private file, fsynced) and
    taking its sha256 as the bytes pass, so that no second read of the file is needed.
    Returns (size, sha256). A failure or a timeout removes the partial file."""
    # Created first, and only then ours to remove: an existing file is never touched.
    sink = os.fdopen(os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
    with sink, tempfile.TemporaryFile() as errors:
        try:
            proc = _start(argv, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=errors)
        except BaseException:
            output.unlink(missing_ok=True)
            raise
        note = children.started(proc.pid, display(argv, secrets))
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            _kill(proc)

        timer = threading.Timer(timeout, expire)
        timer.start()
        digest, size = hashlib.sha256(), 0
        try:
            assert proc.stdout is not None
            while chunk := proc.stdout.read(1 << 20):
                digest.update(chunk)
                sink.write(chunk)
                size += len(chunk)
            sink.flush()
            os.fsync(sink.fileno())
            proc.wait()
        except BaseException:  # interrupted: the child must not go on without us
            _kill(proc)
            output.unlink(missing_ok=True)
            raise
        finally:
            timer.cancel()
            _close(proc.stdout)
            children.ended(note)
        if proc.returncode != 0:
            output.unlink(missing_ok=True)
            if timed_out.is_set():
                raise OpsError(f"timed out after {timeout:.0f}s: {display(argv, secrets)}")
            errors.seek(0)
            raise OpsError(f"`{display(argv, secrets)}` failed ({proc.returncode}): "
                           f"{last_words(errors.read(), secrets)}")
    return size, digest.hexdigest()


class Prepared:
    """A command started ahead of its moment: it loads its code and connects, says `ready`,
    and waits for `go` on its stdin (a migration rollback's downgrade, prepared before the
    maintenance window so that the window does not hold its start). Closing its stdin
    without `go` (`cancel`, or this process dying) makes it exit with nothing done."""

    def __init__(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                 secrets: Sequence[str] = ()):
        self.argv, self.secrets = list(argv), list(secrets)
        self.proc = _start(argv, env={**os.environ, **(env or {})}, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.note = children.started(self.proc.pid, display(argv, secrets))

    def ready(self, timeout: float) -> bool:
        """Whether it said `ready` within `timeout`; if not, it is stopped (a release whose
        code does not know how to wait exits at once: run the command the plain way)."""
        import select

        assert self.proc.stdout is not None
        waiting, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if waiting and self.proc.stdout.readline().strip() == b"ready":
            return True
        self.cancel()
        return False

    def go(self, timeout: float = 1800) -> str:
        try:
            out, err = self.proc.communicate(b"go\n", timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(self.proc)
            raise OpsError(f"timed out after {timeout:.0f}s: "
                           f"{display(self.argv, self.secrets)}") from None
        except BaseException:
            _kill(self.proc)
            raise
        finally:
            children.ended(self.note)
        if self.proc.returncode != 0:
            raise OpsError(f"`{display(self.argv, self.secrets)}` failed "
                           f"({self.proc.returncode}): {last_words(err or out, self.secrets)}")
        return out.decode(errors="replace")

    def cancel(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # no `go`: it exits untouched
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        if self.proc.poll() is None:
            _kill(self.proc)
        children.ended(self.note)


def pipe(first: Sequence[str], second: Sequence[str], timeout: float = 600) -> None:
    """`first | second`, failing if either side fails or the two take longer than
    `timeout`. The producer's errors go to a file, so that it can never block on them."""
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryFile() as producer_errors:
        producer = _start(first, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=producer_errors)
        try:
            consumer = _start(second, stdin=producer.stdout, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        except BaseException:
            _kill(producer)
            raise
        _close(producer.stdout)  # the consumer holds it now: it sees EOF when the producer ends
        notes = [children.started(producer.pid, display(first)),
                 children.started(consumer.pid, display(second))]
        try:
            _, consumer_errors = consumer.communicate(timeout=timeout)
            producer.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(producer)
            _kill(consumer)
            raise OpsError(f"timed out after {timeout:.0f}s: {display(first)} | "
                           f"{display(second)}") from None
        except BaseException:
            _kill(producer)
            _kill(consumer)
            raise
        finally:
            for note in notes:
                children.ended(note)
        # A producer killed by SIGPIPE only tells that the consumer stopped reading.
        if producer.returncode not in (0, -signal.SIGPIPE) or (
                producer.returncode != 0 and consumer.returncode == 0):
            producer_errors.seek(0)
            raise OpsError(f"`{display(first)}` failed ({producer.returncode}): "
                           f"{last_words(producer_errors.read())}")
    if consumer.returncode != 0:
        raise OpsError(f"`{display(second)}` failed ({consumer.returncode}): "
                       f"{last_words(consumer_errors)}")


def _close(stream: IO[bytes] | None) -> None:
    if stream is not None:
        stream.close()
