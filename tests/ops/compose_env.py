"""Compose environments for the compose driver's test modules: the private engine
(skipped with the reason when there is none) and a home initialised for it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.conftest import Environment, SourceRepo
from tests.support.docker import DockerEngine, start_engine
from tests.support.processes import free_port


@pytest.fixture(scope="module")
def engine() -> DockerEngine:
    found = start_engine()
    if found.host is None:
        pytest.skip(f"no Docker engine: {found.reason}")
    return found


def compose_environment(engine: DockerEngine, source: SourceRepo, home: Path, name: str,
                        *extra: str) -> Iterator[Environment]:
    """An environment on the compose driver, up with the good release; down at the end."""
    env = Environment(home, free_port(), free_port())
    # A name of its own: projects, containers and volumes are named after the environment.
    env.jobnaut("init", "--source", str(source.path), "--driver", "compose",
                "--base-image", engine.base_image, "--name", name,
                "--backend-port", str(env.backend_port),
                "--frontend-port", str(env.frontend_port), "--no-guard", *extra)
    toml = home / "jobnaut.toml"
    toml.write_text(toml.read_text().replace(
        'kind = "compose"', f'kind = "compose"\ndocker_host = "{engine.host}"', 1))
    env.set_timeout("stability", 0)
    # A container's first start includes the engine's work (layers, mounts, init): on two
    # busy cores (the whole suite beside it) it takes longer than a process.
    env.set_timeout("start", 180)
    try:
        env.jobnaut("up")
        yield env
    finally:
        env.jobnaut("down", check=False)
        # Each test session names its environments anew: their images go with them.
        images = engine.docker("images", "--quiet", "--filter", f"reference=jobnaut-{name}")
        if images.split():
            engine.docker("rmi", "--force", *sorted(set(images.split())))


def unique_name(prefix: str) -> str:
    return f"{prefix}{os.getpid()}"
