"""What the benchmarks share: a free port, git, a copy of this checkout as a repository,
and a real backend started and stopped around a measurement (`jobnaut serve backend` on
loopback, ready when /health/ready says so)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import httpx
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
        env={**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
             "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"},
    ).stdout.strip()


def source_copy(root: Path) -> Path:
    """This checkout's files (tracked and new) as a fresh git repository with one commit."""
    import shutil

    repo = root / "source"
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for relative in filter(None, listed.split("\0")):
        if (REPO / relative).is_file():
            (repo / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / relative, repo / relative)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "good")
    return repo


@contextmanager
def serve_backend(database_url: str, log_path: Path, release: str = "bench",
                  timeout: float = 60) -> Iterator[int]:
    """A backend on a free loopback port (yielded) until the block ends."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "JOBNAUT_ENV": "development",
           "JOBNAUT_RELEASE": release, "ENCRYPTION_KEY": Fernet.generate_key().decode()}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobnaut", "serve", "backend", "--host", "127.0.0.1",
             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"backend exited with {proc.returncode}:\n"
                                   f"{log_path.read_text(errors='replace')}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/ready",
                             timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"backend not ready within {timeout:g}s:\n"
                                   f"{log_path.read_text(errors='replace')}")
            time.sleep(0.2)
        yield port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Threads:
    """Client threads that run from `with` until its end: each target loops until
    `self._stop` is set."""

    def __init__(self, *targets: Any) -> None:
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=t, daemon=True) for t in targets]

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
