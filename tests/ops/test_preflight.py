"""Refusals that need nothing to run: bad refs, unknown settings, bad backup ids and a commit
behind the database's schema are refused before anything is recorded (exit 2). And each
service's process holds only its own settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from jobnaut.app.schema import expected_revision
from jobnaut.ops.commit_schema import schema_of_commit
from jobnaut.ops.context import Env
from tests.ops.conftest import Environment, SourceRepo, sqlite_only
from tests.ops.test_database_rollback import ADD_NICKNAME, commit_migration

HEAD = expected_revision()


def ledger_counts(env: Environment) -> dict[str, int]:
    with sqlite3.connect(env.home / "ledger.db") as db:
        return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("operations", "releases", "configs", "steps", "events")}


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def live_pid(env: Environment, service: str) -> int:
    return int(env.json("status")["services"][service]["pid"])


def assert_refused(env: Environment, *args: str, says: str) -> str:
    """The command exits 2 with `says` in its error, and the ledger is unchanged: no
    operation, release, configuration or event recorded."""
    before = ledger_counts(env)
    result = env.jobnaut(*args, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert ledger_counts(env) == before
    return result.stderr


@sqlite_only
def test_blank_or_malformed_ref_is_refused(deployed: Environment) -> None:
    serving = deployed.serving_release()
    assert_refused(deployed, "deploy", "", says="no ref given")
    assert_refused(deployed, "deploy", "--", "  ", says="no ref given")
    assert_refused(deployed, "deploy", "--dry-run", "--", "--help me", says="not a git ref")
    assert deployed.serving_release() == serving


@sqlite_only
def test_unknown_setting_is_refused_with_a_hint(deployed: Environment) -> None:
    assert_refused(deployed, "config", "set", "UNKNOWN_KEY=1",
                   says="UNKNOWN_KEY is not a JobNaut setting")
    assert_refused(deployed, "config", "set", "API_TIMEOUT_SECOND=3",
                   says="did you mean API_TIMEOUT_SECONDS?")
    assert_refused(deployed, "config", "set", "--dry-run", "JOBNAUT_RELEASE=v1",
                   says="not a JobNaut setting")


@sqlite_only
def test_bad_timeout_never_becomes_a_release(deployed: Environment) -> None:
    releases, serving = len(deployed.releases()), deployed.serving_release()
    result = deployed.jobnaut("config", "set", "API_TIMEOUT_SECONDS=-5", check=False)
    assert result.returncode == 1
    assert "API_TIMEOUT_SECONDS" in result.stderr and "checklist" in result.stderr
    assert len(deployed.releases()) == releases
    assert deployed.serving_release() == serving


@sqlite_only
def test_bad_backup_id_is_refused_before_anything_is_recorded(deployed: Environment) -> None:
    assert_refused(deployed, "backup", "restore", "--yes", "../../etc",
                   says="is not a backup id")
    assert_refused(deployed, "backup", "restore", "--yes", "20261128T221500Z-manual",
                   says="does not exist")
    assert_refused(deployed, "backup", "verify", "20261128T221500Z-manual",
                   says="does not exist")


def test_each_service_process_holds_only_its_own_settings(deployed: Environment) -> None:
    api_key = "feed-key-0123456789abcdef"
    deployed.jobnaut("config", "set", f"JSEARCH_API_KEY={api_key}")
    ops = Env.open(deployed.home)
    config = ops.config_of(ops.current_config_id())

    frontend = environ_of(live_pid(deployed, "frontend"))
    backend = environ_of(live_pid(deployed, "backend"))
    for secret in ("ENCRYPTION_KEY", "DATABASE_URL", "JSEARCH_API_KEY"):
        assert secret not in frontend
        assert backend[secret] == config[secret]
    raw = Path(f"/proc/{live_pid(deployed, 'frontend')}/environ").read_bytes()
    assert config["ENCRYPTION_KEY"].encode() not in raw and api_key.encode() not in raw
    assert frontend["API_BASE_URL"] == config["API_BASE_URL"]
    assert frontend["JOBNAUT_ENV"] == backend["JOBNAUT_ENV"] == config["JOBNAUT_ENV"]
    assert "API_BASE_URL" not in backend
    # The backend is told the schema its build expects (it never imports Alembic to know),
    # and says so where a check reads it.
    serving = ops.require_active()
    assert backend["JOBNAUT_EXPECTED_SCHEMA"] == serving.schema_revision == expected_revision()
    assert "JOBNAUT_EXPECTED_SCHEMA" not in frontend
    version = httpx.get(f"{deployed.api}/version", timeout=10).json()
    assert version["schema_expected"] == version["schema_revision"] == serving.schema_revision
    # The key is shown masked, and nothing else is masked in the output.
    shown = deployed.jobnaut("config", "show").stdout
    assert "JSEARCH_API_KEY=****" in shown and api_key not in shown
    assert f"API_BASE_URL={config['API_BASE_URL']}" in shown


def test_commit_behind_the_database_schema_is_refused_before_it_is_built(
        deployed: Environment, source_repo: SourceRepo) -> None:
    # A newer release migrates the database past what main's code knows.
    newer = commit_migration(source_repo, "prefnewer", "0911", ADD_NICKNAME)
    deployed.jobnaut("deploy", newer)
    older_release = next(r["id"] for r in deployed.releases()
                         if r["schema_revision"] == HEAD and r["status"] != "failed")
    # An older commit, never built: refused before its build, release, backup or migrate.
    older = source_repo.commit_variant("prefolder", {"README.md": ("JobNaut", "JobNaut.")})
    backups = len(deployed.json("backup", "list"))
    serving = deployed.serving_release()

    error = assert_refused(deployed, "deploy", "prefolder", says="expects schema")
    assert "the database is at 0911" in error and HEAD in error
    assert f"rollback migration --to {older_release}" in error
    assert "rollback code --to" in error
    assert not (deployed.home / "builds" / older).exists()
    assert len(deployed.json("backup", "list")) == backups
    assert deployed.serving_release() == serving
    assert_refused(deployed, "deploy", "--dry-run", "main", says="expects schema")


def test_schema_of_a_commit_is_read_from_git(source_repo: SourceRepo) -> None:
    newer = commit_migration(source_repo, "prefread", "0912", ADD_NICKNAME)
    main = schema_of_commit(source_repo.path, "main")
    branch = schema_of_commit(source_repo.path, newer)
    assert main is not None and branch is not None
    assert main.heads == {HEAD} and HEAD in main.revisions
    assert branch.heads == {"0912"} and branch.revisions == main.revisions | {"0912"}
    assert schema_of_commit(source_repo.path, "no-such-ref") is None
