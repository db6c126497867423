"""Two operators on two machines, one cluster (ADR 0012): an operation on a swarm
environment holds a lease in the cluster itself, besides the lock file in its own home.

The lease is a Swarm config named `jobnaut-ENV-lease`. Creating a config with a name that
exists fails, and the managers' Raft log orders every creation: of two operators starting at
once, exactly one gets it. Its labels say who holds it and until when; one whose holder died
(a machine lost mid-operation) is taken over once it has expired. Configs cannot be changed,
so the lease is long enough for the longest operation (an hour) instead of being renewed.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from jobnaut.ops.environment import Home
from jobnaut.ops.errors import OpsError

LEASE_SECONDS = 3600


def lease_name(home: Home) -> str:
    from jobnaut.ops.drivers.compose import slug

    return f"jobnaut-{slug(home.config.name)}-lease"


def _docker(home: Home, *args: str, data: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], input=data, capture_output=True, text=True,
                          timeout=30, check=False,
                          env={**os.environ, "DOCKER_HOST": str(home.config.driver.manager)})


@contextmanager
def cluster_lease(home: Home, kind: str) -> Iterator[None]:
    """Hold the environment's lease in the cluster while the operation runs."""
    token = uuid.uuid4().hex
    holder = {"kind": kind, "host": socket.gethostname(), "user": getpass.getuser(),
              "pid": os.getpid(), "home": str(home.root), "token": token,
              "started": int(time.time()), "expires": int(time.time()) + LEASE_SECONDS}
    _take(home, holder)
    try:
        yield
    finally:
        if _holder(home).get("token") == token:  # never remove another operator's lease
            _docker(home, "config", "rm", lease_name(home))


def _take(home: Home, holder: dict[str, object]) -> None:
    name = lease_name(home)
    for _ in range(2):
        made = _docker(home, "config", "create", "--label", f"jobnaut.token={holder['token']}",
                       name, "-", data=json.dumps(holder))
        if made.returncode == 0:
            return
        if "already exists" not in made.stderr + made.stdout:
            raise OpsError(f"cannot take the cluster lease {name}: {made.stderr.strip()}",
                           hint="is the manager in [driver] manager reachable?")
        other = _holder(home)
        if other and int(str(other.get("expires", 0))) > time.time():
            raise OpsError(
                f"another operator is running {other.get('kind', '?')} on this cluster: "
                f"{other.get('user', '?')}@{other.get('host', '?')} (pid {other.get('pid')}, "
                f"home {other.get('home')}), since "
                f"{time.strftime('%H:%M:%S UTC', time.gmtime(int(str(other['started']))))}",
                hint="wait for it to finish; a lease whose holder died expires after "
                     f"{LEASE_SECONDS // 60} minutes (`docker config rm {name}` ends it now)")
        _docker(home, "config", "rm", name)  # expired: its holder is gone
    raise OpsError(f"could not take the cluster lease {name}")


def _holder(home: Home) -> dict[str, object]:
    found = _docker(home, "config", "inspect", "--format", "{{json .Spec.Data}}",
                    lease_name(home))
    if found.returncode != 0:
        return {}

    try:
        data = base64.b64decode(json.loads(found.stdout))
        holder: dict[str, object] = json.loads(data)
    except (ValueError, TypeError):
        return {}
    return holder
