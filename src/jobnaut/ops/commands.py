"""Builders for the external commands the control plane runs. They only return argv;
`runner.run` executes them. Keeping the two apart makes dry-runs and tests exact."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path


def git_resolve(source: Path, ref: str) -> list[str]:
    return ["git", "-C", str(source), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"]


def git_archive(source: Path, commit: str) -> list[str]:
    return ["git", "-C", str(source), "archive", "--format=tar", commit]


def tar_extract(destination: Path) -> list[str]:
    return ["tar", "-x", "-C", str(destination)]


def uv_sync(project: Path) -> list[str]:
    # The release's own virtualenv, exactly as its lock file says; no dev tools. Bytecode is
    # compiled once here, else every process of the release (and every `schema` subprocess)
    # recompiles every module at each start wherever .pyc files are not written
    # (PYTHONDONTWRITEBYTECODE, a read-only build): about 1 s per start.
    return [uv_binary(), "sync", "--frozen", "--no-dev", "--no-editable", "--compile-bytecode",
            "--quiet", "--project", str(project), "--python", sys.executable]


def uv_binary() -> str:
    """uv, wherever its usual installs put it: `.venv/bin/jobnaut` is often run without the
    user's ~/.local/bin (where `pip install --user uv` lands) on PATH."""
    candidates = [Path.home() / ".local" / "bin" / "uv", Path(sys.base_prefix) / "bin" / "uv",
                  Path(sys.executable).parent / "uv"]
    found = shutil.which("uv") or next((str(c) for c in candidates if c.is_file()), None)
    return found or "uv"  # not found: the runner says "command not found: uv"


def release_python(build: Path) -> str:
    return str(build / ".venv" / "bin" / "python")


def jobnaut_in(build: Path, *args: str) -> list[str]:
    """Run the `jobnaut` of a built release (its code, its migrations)."""
    return [release_python(build), "-m", "jobnaut", *args]


# --- PostgreSQL backups ------------------------------------------------------------------
# `conninfo` never holds the password: it travels in PGPASSWORD. `--no-password` makes a
# missing one fail at once instead of waiting for a prompt nobody will answer.


def pg_dump(conninfo: str, output: Path | None, *, snapshot: str | None = None,
            directory: bool = False, jobs: int = 1, binary: str = "pg_dump",
            prefix: Sequence[str] = ()) -> list[str]:
    """`prefix` runs the tool elsewhere (`docker exec … CONTAINER`, a db service's own).
    No `output`: the archive goes to standard output (custom format only)."""
    argv = [*prefix, binary, "--no-password", f"--dbname={conninfo}"]
    if output is not None:
        argv.append(f"--file={output}")
    if directory:
        argv += ["--format=directory", f"--jobs={max(1, jobs)}"]
    else:
        argv.append("--format=custom")
    if snapshot:
        argv.append(f"--snapshot={snapshot}")
    return argv


def pg_restore(conninfo: str, archive: Path, *, jobs: int = 1,
               binary: str = "pg_restore", prefix: Sequence[str] = ()) -> list[str]:
    """Restore into an existing, empty database. One job restores in a single transaction,
    so a failure leaves nothing behind; parallel jobs cannot share a transaction."""
    argv = [*prefix, binary, "--no-password", "--no-owner", "--exit-on-error",
            f"--dbname={conninfo}"]
    argv += [f"--jobs={jobs}"] if jobs > 1 else ["--single-transaction"]
    return [*argv, str(archive)]


def pg_restore_list(archive: Path, *, binary: str = "pg_restore",
                    prefix: Sequence[str] = ()) -> list[str]:
    """Read the archive's table of contents: fails on an archive pg_restore cannot parse."""
    return [*prefix, binary, "--list", str(archive)]
