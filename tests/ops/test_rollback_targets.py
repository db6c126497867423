"""Which release a rollback returns to: what actually served before, never a release that
was itself rolled back — read from the activation history, not from release numbers.

These rules do not depend on the database, so they run once, on SQLite.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.ops.conftest import Environment, SourceRepo, _up, make_environment
from tests.ops.test_database_rollback import ADD_NICKNAME, MIGRATION, commit_migration, git


@pytest.fixture(scope="module")
def env(source_repo: SourceRepo, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Environment]:
    yield from _up(make_environment(tmp_path_factory.mktemp("targets") / "env", source_repo,
                                    None))


def planned_target(env: Environment, *command: str) -> str:
    """The release a rollback would go to, from its dry-run plan."""
    plan = env.json("rollback", *command, "--dry-run")
    text = " ".join(step["description"] for step in plan["steps"])
    found = {word for word in text.replace("'", " ").split() if word[:1] == "v"
             and word[1:].isdigit()}
    assert len(found) == 1, text
    return found.pop()


def status_of(env: Environment, release: str) -> str:
    return next(r["status"] for r in env.releases() if r["id"] == release)


def active(env: Environment) -> str:
    return str(env.json("status")["active_release"])


def test_with_no_good_release_before_a_rollback_is_a_clear_refusal(env: Environment) -> None:
    # Runs first: only the first release has served.
    operations_before = env.json("status")["last_operation"]
    refused = env.jobnaut("rollback", "code", "--yes", check=False)
    assert refused.returncode == 1
    assert "no earlier good release" in refused.stderr
    assert env.json("status")["last_operation"] == operations_before  # nothing recorded


@pytest.mark.parametrize("command", [("migrate", "check"), ("migrate", "up"),
                                     ("migrate", "down", "--to", "0002")])
def test_migrate_commands_take_the_lock(env: Environment, command: tuple[str, ...]) -> None:
    from jobnaut.ops import lock
    from jobnaut.ops.environment import load_home

    with lock.operation_lock(load_home(env.home).lock_path, {"kind": "test", "operation": 3}):
        result = env.jobnaut(*command, check=False)
    assert result.returncode == 1 and "another operation is running: test #3" in result.stderr


def test_rollback_after_an_emergency_and_a_new_deploy_returns_to_what_served(
        env: Environment) -> None:
    first = active(env)
    env.jobnaut("deploy", "main", "-m", "second")
    env.jobnaut("deploy", "main", "-m", "third")
    third = active(env)
    env.jobnaut("rollback", "emergency", "--to", first, "--reason", "drill", "--yes")
    env.jobnaut("freeze", "--lift", "--reason", "fixed in the next release")
    assert active(env) == first and status_of(env, third) == "rolled_back"
    env.jobnaut("deploy", "main", "-m", "fourth")
    # v2 has the highest number below v4 and never failed, but v1 served before v4.
    assert planned_target(env, "code") == first


def test_a_rolled_back_config_release_is_never_a_default_target(env: Environment) -> None:
    good = active(env)
    env.jobnaut("config", "set", "JSEARCH_API_URL=http://127.0.0.1:9/feed")
    bad = active(env)
    env.jobnaut("rollback", "config", "--yes")
    restored = active(env)
    assert status_of(env, bad) == "rolled_back"
    assert restored not in (good, bad)
    # The next default rollback skips the bad configuration…
    assert planned_target(env, "code") == good
    # …and so does an emergency, which must never switch traffic to it.
    env.jobnaut("rollback", "emergency", "--reason", "drill", "--yes")
    env.jobnaut("freeze", "--lift", "--reason", "fixed in the next release")
    assert active(env) == good
    assert status_of(env, restored) == "rolled_back"
    served = httpx.get(f"{env.api}/version", timeout=5).json()["release"]
    assert served == good


def test_backend_only_rollback_survives_down_and_up(env: Environment) -> None:
    env.jobnaut("deploy", "main", "-m", "for the backend-only rollback")
    newest = active(env)
    env.jobnaut("rollback", "code", "--service", "backend", "--yes")
    before = services(env)
    assert before["frontend"] == newest and before["backend"] != newest
    env.jobnaut("down")
    env.jobnaut("up")
    assert services(env) == before
    assert active(env) == newest


def services(env: Environment) -> dict[str, Any]:
    state = env.json("status")["services"]
    return {s: state[s]["release"] for s in ("backend", "frontend")}


def test_migration_rollback_to_a_pruned_release_rebuilds_it_before_any_change(
        env: Environment, source_repo: SourceRepo) -> None:
    env.jobnaut("deploy", "main", "-m", "leave the backend-only state")
    old_sha = source_repo.commit_variant("pruned-old", {"README.md": ("# JobNaut", "# JobNaut.")})
    env.jobnaut("deploy", old_sha)
    old = active(env)
    env.jobnaut("deploy", "main", "-m", "in between")
    new_sha = commit_migration(source_repo, "targets-nick", "0931", ADD_NICKNAME)
    deployed = env.jobnaut("deploy", new_sha)
    # The migration only expands the schema: the release serving was checked on it.
    assert "on the new schema" in deployed.stderr
    shutil.rmtree(env.home / "builds" / old_sha)

    env.jobnaut("rollback", "migration", "--to", old, "--yes")
    assert active(env) == old
    assert httpx.get(f"{env.api}/health/ready", timeout=5).status_code == 200
    assert (env.home / "builds" / old_sha).is_dir()


DROP_NICKNAME = dict(
    doc="drop users.nickname",
    upgrade='    with op.batch_alter_table("users") as batch:\n'
            '        batch.drop_column("nickname")',
    downgrade='    with op.batch_alter_table("users") as batch:\n'
              '        batch.add_column(sa.Column("nickname", sa.String(80)))')


def test_contracting_migration_needs_a_maintenance_window(
        env: Environment, source_repo: SourceRepo) -> None:
    expand = commit_migration(source_repo, "contract-add", "0941", ADD_NICKNAME)
    env.jobnaut("deploy", expand)
    releases_before = len(env.releases())
    git(source_repo.path, "checkout", "-q", "-B", "contract-drop", "contract-add")
    path = source_repo.path / "src/jobnaut/migrations/versions/0942_drop.py"
    path.write_text(MIGRATION.format(rev="0942", down="0941", **DROP_NICKNAME))
    git(source_repo.path, "add", "-A")
    git(source_repo.path, "commit", "-qm", "drop nickname")
    contract = git(source_repo.path, "rev-parse", "HEAD")
    git(source_repo.path, "checkout", "-q", "main")

    refused = env.jobnaut("deploy", contract, check=False)
    assert refused.returncode == 1
    assert "contract the schema" in refused.stderr and "drops a column" in refused.stderr
    assert "--maintenance" in refused.stderr
    assert len(env.releases()) == releases_before  # nothing recorded
    assert env.json("migrate", "status")["database_revision"] == "0941"

    done = env.jobnaut("deploy", contract, "--maintenance")
    assert "maintenance" in done.stderr
    assert env.json("migrate", "status")["database_revision"] == "0942"
    assert httpx.get(f"{env.api}/health/ready", timeout=5).status_code == 200
