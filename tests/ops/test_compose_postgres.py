"""PostgreSQL as a `db` service under Compose, managed by JobNaut: its data on a named
volume, backups through the container's own pg_dump/pg_restore with the same manifests and
verification, and a migration rollback that keeps what users wrote after the deploy."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.ops.compose_env import compose_environment, engine, unique_name
from tests.ops.conftest import Environment, SourceRepo
from tests.ops.test_database_rollback import (
    ADD_NICKNAME,
    HEAD,
    commit_migration,
    database_url,
    emails,
    execute,
    revision,
    sign_up,
)
from tests.support.docker import DockerEngine

pytestmark = pytest.mark.compose
__all__ = ["engine"]  # the module's fixture

NAME = unique_name("cdb")
CONTAINER = f"jobnaut-{NAME}-db"
VOLUME = f"jobnaut-{NAME}-pgdata"


@pytest.fixture(scope="module")
def db_env(engine: DockerEngine, source_repo: SourceRepo,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    try:
        yield from compose_environment(engine, source_repo,
                                       tmp_path_factory.mktemp("compose-db") / "env", NAME,
                                       "--database-service", "--db-image", engine.db_image)
    finally:
        engine.docker("rm", "--force", CONTAINER)
        engine.docker("volume", "rm", "--force", VOLUME)


def test_the_database_runs_in_its_db_container(db_env: Environment,
                                               engine: DockerEngine) -> None:
    url = database_url(db_env)
    assert url.startswith("postgresql://jobnaut:") and "@127.0.0.1:" in url
    assert engine.docker("inspect", "-f", "{{.State.Running}}", CONTAINER).strip() == "true"
    mounts = engine.docker("inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", CONTAINER)
    assert VOLUME in mounts.split()
    assert revision(db_env) == HEAD


def test_migration_rollback_keeps_rows_written_after_the_deploy(
        db_env: Environment, source_repo: SourceRepo) -> None:
    before_deploy = sign_up(db_env)
    first = db_env.json("status")["active_release"]
    sha = commit_migration(source_repo, "compose-nickname", "0911", ADD_NICKNAME)
    db_env.jobnaut("deploy", sha)
    assert revision(db_env) == "0911"
    after_deploy = sign_up(db_env)
    execute(db_env, f"UPDATE users SET nickname = 'ada' WHERE email = '{after_deploy}'")

    db_env.jobnaut("rollback", "migration", "--yes")
    assert revision(db_env) == HEAD
    assert {before_deploy, after_deploy} <= emails(db_env)
    assert db_env.json("status")["active_release"] == first
    assert httpx.get(f"{db_env.api}/health/ready", timeout=10).status_code == 200

    # Backups were taken by the container's pg_dump, into the home, with their manifests;
    # verification restores one through the container's pg_restore.
    backups = db_env.json("backup", "list")
    kinds = {b["kind"] for b in backups}
    assert "pre-deploy" in kinds and kinds & {"safety", "pre-downgrade"}
    verified = db_env.json("backup", "verify", backups[0]["id"])
    assert verified["ok"] is True, verified["checks"]


def test_down_keeps_the_volume_and_up_brings_the_data_back(db_env: Environment,
                                                           engine: DockerEngine) -> None:
    users = emails(db_env)
    db_env.jobnaut("down")
    gone = engine.docker("ps", "--all", "--filter", f"name={CONTAINER}", "--format",
                         "{{.Names}}")
    assert gone.strip() == ""
    assert VOLUME in engine.docker("volume", "ls", "--format", "{{.Name}}").split()

    db_env.jobnaut("up")
    assert emails(db_env) == users
    assert httpx.get(f"{db_env.api}/health/ready", timeout=10).status_code == 200
