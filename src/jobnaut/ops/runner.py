"""The one place external commands run: secrets kept out of what is shown, failures made
into OpsError with the command's own last words."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence

from jobnaut.ops.errors import OpsError
from jobnaut.ops.secrets import mask


def display(argv: Sequence[str], secrets: Sequence[str] = ()) -> str:
    return mask(shlex.join(argv), secrets)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
    timeout: float = 600,
    stdin: bytes | None = None,
    cwd: str | None = None,
) -> str:
    full_env = {**os.environ, **(env or {})}
    try:
        result = subprocess.run(
            list(argv), env=full_env, input=stdin, capture_output=True, timeout=timeout,
            cwd=cwd,
        )
    except FileNotFoundError:
        raise OpsError(f"command not found: {argv[0]}") from None
    except subprocess.TimeoutExpired:
        raise OpsError(f"timed out after {timeout:.0f}s: {display(argv, secrets)}") from None
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).decode(errors="replace").strip().splitlines()
        last = mask(" | ".join(tail[-5:]), secrets)
        raise OpsError(f"`{display(argv, secrets)}` failed ({result.returncode}): {last}")
    return result.stdout.decode(errors="replace")


def pipe(first: Sequence[str], second: Sequence[str], timeout: float = 600) -> None:
    """`first | second`, failing if either side fails."""
    producer = subprocess.Popen(list(first), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        consumer = subprocess.run(list(second), stdin=producer.stdout, capture_output=True,
                                  timeout=timeout)
    finally:
        if producer.stdout:
            producer.stdout.close()
        producer.wait(timeout)
    if producer.returncode != 0:
        err = producer.stderr.read().decode(errors="replace") if producer.stderr else ""
        raise OpsError(f"`{display(first)}` failed: {err.strip()}")
    if consumer.returncode != 0:
        raise OpsError(f"`{display(second)}` failed: {consumer.stderr.decode().strip()}")
