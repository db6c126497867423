"""PostgreSQL as a `db` service under Compose (`[driver] database = "service"`): one
container per environment, `jobnaut-ENV-db`, its data on the named volume
`jobnaut-ENV-pgdata`, listening on loopback port `db_port` (host networking, as the
services). JobNaut starts it before anything reads the database and stops it on `down`;
the volume stays. Backups and restores run the container's own `pg_dump`/`pg_restore`
(the server's version, nothing installed on the host), writing into the home's backups
folder, bind-mounted at the same path: the manifests and verification are unchanged.

The image follows the official `postgres` image's interface (POSTGRES_USER,
POSTGRES_PASSWORD, POSTGRES_DB; `postgres` as the command), so the official image and the
local one that scripts/docker-engine makes are interchangeable.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

from jobnaut.ops import runner
from jobnaut.ops.environment import Home
from jobnaut.ops.errors import OpsError

START_TIMEOUT = 60.0


def managed(home: Home) -> bool:
    driver = home.config.driver
    return driver.kind == "compose" and driver.database == "service"


def _slug(home: Home) -> str:
    from jobnaut.ops.drivers.compose import slug

    return slug(home.config.name)


def container(home: Home) -> str:
    return f"jobnaut-{_slug(home)}-db"


def volume(home: Home) -> str:
    return f"jobnaut-{_slug(home)}-pgdata"


def _docker_env(home: Home) -> dict[str, str]:
    host = home.config.driver.docker_host or os.environ.get("DOCKER_HOST")
    return {**os.environ, **({"DOCKER_HOST": host} if host else {})}


def client_prefix(home: Home) -> list[str]:
    """How backups run a PostgreSQL client tool: in the db container when JobNaut manages
    it (the password travels in PGPASSWORD, passed by name), else on the host ([])."""
    if not managed(home):
        return []
    host = home.config.driver.docker_host  # the backup code runs it with its own environment
    return ["docker", *(["--host", host] if host else []), "exec", "-i", "-e", "PGPASSWORD",
            container(home)]


def _inspect(home: Home, template: str) -> str | None:
    result = subprocess.run(["docker", "inspect", "-f", template, container(home)],
                            env=_docker_env(home), capture_output=True, text=True,
                            timeout=30, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def running(home: Home) -> bool:
    return _inspect(home, "{{.State.Running}}") == "true"


def ensure(home: Home, database_url: str) -> str | None:
    """Start the db service unless it runs (a new volume is initialised with the user,
    password and database of `database_url`); None when JobNaut does not manage one."""
    if not managed(home):
        return None
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    folder = home.run / "compose" / "db"
    folder.mkdir(parents=True, exist_ok=True)
    env_file = folder / "db.env"
    env_file.touch(mode=0o600)
    os.chmod(env_file, 0o600)
    env_file.write_text(f"POSTGRES_USER={url.username}\nPOSTGRES_PASSWORD={url.password}\n"
                        f"POSTGRES_DB={url.database}\n")
    home.backups.mkdir(parents=True, exist_ok=True)
    port = str(home.config.driver.db_port)
    compose = {"services": {"db": {
        "image": home.config.driver.db_image,
        "container_name": container(home),
        "command": ["postgres", "-p", port, "-c", "listen_addresses=127.0.0.1"],
        "init": True,
        "network_mode": "host",
        "env_file": [str(env_file)],
        "volumes": [f"{volume(home)}:/var/lib/postgresql/data",
                    f"{home.backups}:{home.backups}"],
        "restart": "no",
        "stop_grace_period": "30s",
        "labels": {"jobnaut.service": "db", "jobnaut.db_port": port,
                   "jobnaut.db_image": home.config.driver.db_image},
        "healthcheck": {"test": ["CMD", "pg_isready", "-h", "127.0.0.1", "-p", port],
                        "interval": "5s", "timeout": "3s", "retries": 5},
    }}, "volumes": {volume(home): {"name": volume(home)}}}
    labels = _inspect(home, '{{index .Config.Labels "jobnaut.db_port"}} '
                            '{{index .Config.Labels "jobnaut.db_image"}} {{.State.Running}}')
    if labels == f"{port} {home.config.driver.db_image} true":
        return None  # runs as configured (another port or image: made again below)
    compose_file = folder / "db.json"
    compose_file.write_text(json.dumps(compose, indent=2))
    runner.run(["docker", "compose", "-p", f"jobnaut-{_slug(home)}-db", "-f", str(compose_file),
                "up", "--detach", "--no-build", "--force-recreate", "db"], env=_docker_env(home),
               timeout=300)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        ready = subprocess.run(["docker", "exec", container(home), "pg_isready", "-q",
                                "-h", "127.0.0.1", "-p", port, "-d", str(url.database)],
                               env=_docker_env(home), capture_output=True, timeout=30,
                               check=False)
        if ready.returncode == 0:
            return f"db service {container(home)} started (volume {volume(home)})"
        if not running(home):
            break
        time.sleep(0.5)
    logs = subprocess.run(["docker", "logs", "--tail", "5", container(home)],
                          env=_docker_env(home), capture_output=True, text=True, timeout=30,
                          check=False)
    raise OpsError(f"the db service did not become ready: {(logs.stdout + logs.stderr)[-400:]}",
                   hint="`docker logs " + container(home) + "`")


def stop(home: Home) -> bool:
    """Stop and remove the db container (its data stays on the volume)."""
    if not managed(home):
        return False
    env = _docker_env(home)
    subprocess.run(["docker", "stop", "--time", "30", container(home)], env=env,
                   capture_output=True, timeout=90, check=False)
    subprocess.run(["docker", "rm", "--force", container(home)], env=env,
                   capture_output=True, timeout=60, check=False)
    return True
