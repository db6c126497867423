"""`[driver]` in jobnaut.toml and `init --driver`: bad values are refused with a clear
error, and nothing is created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobnaut.ops.environment import DEFAULT_BASE_IMAGE, _parse
from jobnaut.ops.errors import OpsError
from tests.ops.conftest import Environment, SourceRepo
from tests.support.processes import free_port


def parse(driver: dict[str, Any]) -> Any:
    raw = {"environment": {"name": "t", "source": "/tmp"},
           "ports": {"backend": 1, "frontend": 2}, "driver": driver}
    return _parse(raw, Path("jobnaut.toml")).driver


def test_the_default_driver_is_process() -> None:
    driver = _parse({"environment": {"name": "t", "source": "/tmp"},
                     "ports": {"backend": 1, "frontend": 2}}, Path("jobnaut.toml")).driver
    assert driver.kind == "process" and driver.database == "external"
    assert parse({"kind": "compose"}).base_image == DEFAULT_BASE_IMAGE
    swarm = parse({"kind": "swarm", "manager": "tcp://m:2376", "nodes": ["tcp://m:2376"],
                   "edge": "10.0.0.1"})
    assert (swarm.manager, swarm.nodes, swarm.edge) == ("tcp://m:2376", ("tcp://m:2376",),
                                                        "10.0.0.1")


@pytest.mark.parametrize(("driver", "said"), [
    ({"kind": "kubernetes"}, "expected \"process\", \"compose\" or \"swarm\""),
    ({"kind": "swarm"}, "needs manager = "),
    ({"kind": "compose", "images": "x"}, "unknown [driver] setting images"),
    ({"kind": "process", "database": "service"}, "needs kind = \"compose\""),
    ({"kind": "compose", "database": "sqlite"}, "expected \"external\" or \"service\""),
])
def test_bad_driver_settings_are_refused(driver: dict[str, Any], said: str) -> None:
    with pytest.raises(OpsError) as refused:
        parse(driver)
    assert said in refused.value.message


@pytest.mark.parametrize(("args", "said"), [
    (["--driver", "kubernetes"], "unknown driver 'kubernetes'"),
    (["--database-service"], "--database-service needs --driver compose"),
    (["--driver", "swarm"], "--driver swarm and --manager go together"),
    (["--manager", "unix:///run/docker.sock"], "--driver swarm and --manager go together"),
])
def test_init_refuses_bad_driver_options(tmp_path: Path, source_repo: SourceRepo,
                                         args: list[str], said: str) -> None:
    env = Environment(tmp_path / "env", free_port(), free_port())
    result = env.jobnaut("init", "--source", str(source_repo.path), *args, check=False)
    assert result.returncode == 2 and said in result.stderr + result.stdout
    assert not (tmp_path / "env" / "jobnaut.toml").exists()
