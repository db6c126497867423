"""The compose driver (ADR 0008): a release is an image per commit; each release's services
run as their own Docker Compose project, `jobnaut-ENV-vN`, one container per service.

Containers use the host's network and listen on private loopback ports, exactly where the
process driver's processes listen: the same traffic switch routes the public ports to them,
the frontend reaches the API through it, and PostgreSQL on loopback is reached as before.
An engine without iptables (as in CI here) gives bridge networks no way to the host's
loopback, and that is what a switch on 127.0.0.1 needs.

The image is the host build of the commit (`git archive` + `uv sync --frozen`, the process
driver's artifact) laid over the base image with a virtualenv of the base's own Python: the
code and locked dependencies that were checked are the ones that run, and building needs
no network. Schema commands run from the host build, as with processes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from jobnaut.ops import build, pids, probe, runner
from jobnaut.ops.drivers import compose_db, process
from jobnaut.ops.environment import Home
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import Ledger, ProcessRecord, Release

APP_DIR = "/app"
# The release's host build holds a virtualenv of the host's Python; the image makes its own
# over the same site-packages, so the base must have the same Python minor version.
DOCKERFILE = """\
FROM {base}
RUN python3 -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == {minor} else \\
    "the base image has Python %d.%d; releases are built for {minor_text}" % v)'
COPY . {app}/
RUN rm -rf {app}/.venv/bin {app}/.venv/pyvenv.cfg {app}/.venv/lib64 \\
    && python3 -m venv --without-pip {app}/.venv
WORKDIR {app}
LABEL jobnaut.commit="{commit}"
ENTRYPOINT ["{app}/.venv/bin/python", "-m", "jobnaut"]
"""


class ComposeDriver:
    """`base.Driver` with Docker Compose."""

    kind = "compose"

    def __init__(self, home: Home) -> None:
        self.home = home
        self.settings = home.config.driver

    # Docker --------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        host = self.settings.docker_host or os.environ.get("DOCKER_HOST")
        return {"DOCKER_HOST": host} if host else {}

    def docker(self, *args: str, timeout: float = 120) -> str:
        return runner.run(["docker", *args], env=self._env(), timeout=timeout)

    def _inspect(self, container: str, template: str) -> str | None:
        result = subprocess.run(["docker", "inspect", "-f", template, container],
                                env={**os.environ, **self._env()}, capture_output=True,
                                text=True, timeout=30, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    # Names ---------------------------------------------------------------------------

    @staticmethod
    def image(home: Home, commit: str) -> str:
        return f"jobnaut-{slug(home.config.name)}:{commit}"

    @staticmethod
    def project(home: Home, release_id: int) -> str:
        return f"jobnaut-{slug(home.config.name)}-v{release_id}"

    def container(self, release_id: int, service: str) -> str:
        return f"{self.project(self.home, release_id)}-{service}"

    # The interface ---------------------------------------------------------------------

    def prepare(self, home: Home, commit: str) -> str:
        build_dir = home.build_dir(commit)
        built = build.build(home.config.source, commit, build_dir)
        tag = self.image(home, commit)
        if self._inspect(tag, "{{.Id}}") is not None:
            return f"image of {commit[:12]} exists" + ("; files built" if built else "")
        dockerfile = home.run / "images" / f"Dockerfile.{commit}"
        dockerfile.parent.mkdir(parents=True, exist_ok=True)
        minor = _venv_minor(build_dir)
        dockerfile.write_text(DOCKERFILE.format(
            base=self.settings.base_image, app=APP_DIR, commit=commit,
            minor=f"({minor[0]}, {minor[1]})", minor_text=f"{minor[0]}.{minor[1]}"))
        started = time.monotonic()
        # The classic builder: it needs no buildx plugin, and the build reads no network.
        runner.run(["docker", "build", "--quiet", "--network", "host", "-t", tag,
                    "-f", str(dockerfile), str(build_dir)],
                   env={**self._env(), "DOCKER_BUILDKIT": "0"}, timeout=900)
        dockerfile.unlink(missing_ok=True)
        return (("built " + commit[:12] + "; ") if built else "") + \
            f"image {tag} built on {self.settings.base_image} in " \
            f"{time.monotonic() - started:.0f}s"

    def discard(self, home: Home, commit: str) -> None:
        build.remove(home.build_dir(commit))
        # An image a container still uses is refused by Docker and stays: nothing is lost.
        subprocess.run(["docker", "rmi", self.image(home, commit)],
                       env={**os.environ, **self._env()}, capture_output=True, timeout=120,
                       check=False)

    def start_service(self, home: Home, ledger: Ledger, *, release: Release, service: str,
                      env: Mapping[str, str], role: str = "candidate") -> ProcessRecord:
        port = process.free_port()
        folder = home.run / "compose" / f"v{release.id}"
        env_file = write_env_file(folder, service, env, port)
        compose_file = folder / f"{service}.json"  # JSON is YAML: no YAML writer needed
        compose_file.write_text(json.dumps(self._compose(home, release, service, port,
                                                         env_file, env), indent=2))
        log = process.log_path(home, release.id, service)
        home.logs.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            out.write(f"--- v{release.id} {service} starting on port {port} "
                      f"(container {self.container(release.id, service)})\n".encode())
        self.docker("compose", "-p", self.project(home, release.id), "-f", str(compose_file),
                    "up", "--detach", "--no-build", "--force-recreate", service,
                    timeout=home.config.start_timeout + 60)
        name = self.container(release.id, service)
        pid = int(self._inspect(name, "{{.State.Pid}}") or 0)
        self._follow_log(name, log)
        process_id = ledger.add_process(release_id=release.id, service=service, pid=pid,
                                        port=port, role=role, log=str(log),
                                        start_ticks=pids.start_ticks(pid) if pid else None)
        return ledger.process(process_id)

    def _compose(self, home: Home, release: Release, service: str, port: int,
                 env_file: Path, env: Mapping[str, str]) -> dict[str, object]:
        drain = int(home.config.drain_timeout)
        mounts = [f"{home.data}:{home.data}"]  # SQLite lives in the home, at the same path
        status_file = env.get("JOBNAUT_STATUS_FILE")
        if status_file:  # the published status data (the frontend's incident banner)
            folder = str(Path(status_file).parent)
            mounts.append(f"{folder}:{folder}:ro")
        probe = (f"import urllib.request; urllib.request.urlopen("
                 f"'http://127.0.0.1:{port}/health', timeout=2)")
        return {"services": {service: {
            "image": self.image(home, release.ref),
            "container_name": self.container(release.id, service),
            "command": ["serve", service, "--port", str(port), "--graceful-timeout", str(drain)],
            "init": True,  # SIGTERM reaches uvicorn at once; zombies are reaped
            "network_mode": "host",
            "env_file": [str(env_file)],
            "volumes": mounts,
            "restart": "no",  # the guard restarts a dead service, and records it
            "stop_grace_period": f"{drain + 1}s",
            "labels": {"jobnaut.release": release.name, "jobnaut.service": service,
                       "jobnaut.commit": release.ref},
            "healthcheck": {"test": ["CMD", f"{APP_DIR}/.venv/bin/python", "-c", probe],
                            "interval": "5s", "timeout": "3s", "retries": 3,
                            "start_period": f"{int(home.config.start_timeout)}s"},
        }}}

    def _follow_log(self, container: str, log: Path) -> None:
        """The container's output appended to the service's log file, as the process
        driver's are: `docker logs -f` ends by itself when the container stops."""
        with log.open("ab") as out:
            subprocess.Popen(["docker", "logs", "--follow", container],
                             env={**os.environ, **self._env()}, stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)

    def wait_healthy(self, process_record: ProcessRecord, timeout: float) -> ProcessRecord:
        url = f"{self.address(process_record)}/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive(process_record):
                raise OpsError(f"{process_record.service} of v{process_record.release_id} "
                               f"exited during start; last log lines: "
                               f"{self._last_lines(process_record)}")
            if probe.answers_ok(url, timeout=2):
                return process_record
            time.sleep(0.2)
        raise OpsError(f"{process_record.service} of v{process_record.release_id} did not "
                       f"answer /health within {timeout:.0f}s")

    def _last_lines(self, record: ProcessRecord) -> str:
        name = self._name(record)
        result = subprocess.run(["docker", "logs", "--tail", "5", name],
                                env={**os.environ, **self._env()}, capture_output=True,
                                text=True, timeout=30, check=False)
        lines = (result.stdout + result.stderr).strip().splitlines()
        return " | ".join(lines[-5:]) or process.tail(Path(record.log), 5)

    def _name(self, record: ProcessRecord) -> str:
        return self.container(record.release_id, record.service)

    def address(self, process_record: ProcessRecord) -> str:
        return f"http://127.0.0.1:{process_record.port}"

    def alive(self, process_record: ProcessRecord) -> bool:
        """The container runs, and is the one recorded (a container made again since for the
        same release and service is another record)."""
        state = self._inspect(self._name(process_record), "{{.State.Running}} {{.State.Pid}}")
        if state is None:
            return False
        running, pid = state.split()
        return running == "true" and (process_record.pid in (0, int(pid)))

    def stop_process(self, ledger: Ledger, process_record: ProcessRecord, grace: float) -> None:
        """`docker stop` (SIGTERM through init: uvicorn finishes in-flight requests), then
        the container is removed; its output is already in the service's log file."""
        name = self._name(process_record)
        if self.alive(process_record):
            self.docker("stop", "--time", str(max(1, int(grace))), name, timeout=grace + 60)
        subprocess.run(["docker", "rm", "--force", name], env={**os.environ, **self._env()},
                       capture_output=True, timeout=60, check=False)
        ledger.process_stopped(process_record.id)

    def ensure_database(self, home: Home, database_url: str) -> str | None:
        return compose_db.ensure(home, database_url)

    def stop_database(self, home: Home) -> bool:
        return compose_db.stop(home)

    def log_file(self, home: Home, release_id: int, service: str) -> Path:
        return process.log_path(home, release_id, service)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-") or "env"


def write_env_file(folder: Path, service: str, env: Mapping[str, str], port: int) -> Path:
    """The service's settings (secrets among them) in an env file only the owner reads;
    the compose or stack file names it and holds none."""
    folder.mkdir(parents=True, exist_ok=True)
    env_file = folder / f"{service}.env"
    env_file.touch(mode=0o600)
    os.chmod(env_file, 0o600)
    given = {**env, "PORT": str(port), "PYTHONFAULTHANDLER": "1"}
    env_file.write_text("".join(f"{k}={_one_line(v)}\n" for k, v in given.items()))
    return env_file


def _one_line(value: str) -> str:
    if "\n" in value:
        raise OpsError("a setting with a line break cannot be given to a container")
    return value


def _venv_minor(build_dir: Path) -> tuple[int, int]:
    """The Python minor version the build's virtualenv was made for."""
    for line in (build_dir / ".venv" / "pyvenv.cfg").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version_info", "version"):
            major, minor = value.strip().split(".")[:2]
            return int(major), int(minor)
    raise OpsError(f"cannot tell the Python version of the build {build_dir.name[:12]}")
