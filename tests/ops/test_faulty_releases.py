"""A faulty release never takes traffic (plan scenario 1): it crashes at start, is never
ready, breaks a critical flow, or its frontend cannot reach the API. The release's code is
what fails, whatever the database, so these run on SQLite only."""

from __future__ import annotations

import pytest

from tests.ops.conftest import Environment, SourceRepo
from tests.ops.helpers import FAULTS, UserData


@pytest.fixture(scope="module")
def deployed(deployed_sqlite: Environment) -> Environment:
    return deployed_sqlite


@pytest.fixture(scope="module")
def user(deployed: Environment) -> UserData:
    return UserData(deployed.api).create()


def active(env: Environment) -> str:
    return str(env.json("status")["active_release"])


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faulty_release_never_takes_traffic(deployed: Environment, source_repo: SourceRepo,
                                            user: UserData, fault: str) -> None:
    before = active(deployed)
    sha = source_repo.commit_variant(fault, FAULTS[fault])

    result = deployed.jobnaut("deploy", sha, check=False)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stderr
    releases = deployed.releases()
    newest = releases[0]
    assert newest["ref"] == sha and newest["status"] == "failed"
    assert active(deployed) == before
    assert deployed.serving_release() == before
    status = deployed.json("status")
    assert status["services"]["backend"]["healthy"] and status["services"]["frontend"]["healthy"]
    assert not [s for s in status["services"].get("standby", []) if s["release"] == newest["id"]]
    user.assert_intact(deployed.api)
