"""The emergency procedure, the deploy freeze, and `jobnaut migrate …` / `backup prune`."""

from __future__ import annotations

import httpx

from jobnaut.ops.actions import release_env
from jobnaut.ops.context import Env
from tests.ops.conftest import Environment, SourceRepo
from tests.ops.test_database_rollback import (
    ADD_NICKNAME,
    HEAD,
    commit_migration,
    emails,
    execute,
    revision,
    sign_up,
    tables,
)

ADD_TABLE = dict(
    doc="add table audit_notes",
    upgrade='    op.create_table("audit_notes", sa.Column("id", sa.Integer, primary_key=True))',
    downgrade='    op.drop_table("audit_notes")')


def test_migrate_status_names_applied_pending_and_matching(deployed: Environment) -> None:
    state = deployed.json("migrate", "status")
    assert state["database_revision"] == HEAD
    assert [h["revision"] for h in state["applied"]][-1] == HEAD
    assert state["pending"] == []
    assert state["active_release"] in state["matching_releases"]


def test_resolve_refuses_while_0004s_column_exists_and_accepts_a_real_revert(
        deployed: Environment) -> None:
    assert revision(deployed) == "0004"
    backups_before = len(deployed.json("backup", "list"))

    refused = deployed.jobnaut("migrate", "resolve", "--rolled-back", "0004", check=False)
    assert refused.returncode == 1
    assert "the live schema is not at 0003" in refused.stderr
    assert "extra column saved_jobs.removed_at" in refused.stderr
    assert "extra table problem_reports" in refused.stderr
    assert revision(deployed) == "0004"  # nothing stamped
    assert len(deployed.json("backup", "list")) == backups_before

    # The genuine case: the schema really is at 0003, the version table still says 0004.
    for statement in ("DROP TABLE status_subscriptions", "DROP TABLE problem_reports",
                      "ALTER TABLE saved_jobs DROP COLUMN removed_at"):
        execute(deployed, statement)
    resolved = deployed.jobnaut("migrate", "resolve", "--rolled-back", "0004")
    assert "live schema matches 0003; 0004 recorded as rolled back" in resolved.stdout
    assert revision(deployed) == "0003"
    deployed.jobnaut("migrate", "up")  # 0004 applies cleanly again: what it adds was gone
    assert revision(deployed) == "0004"


def test_restore_report_counts_values_in_a_column_only_the_newer_schema_has(
        deployed: Environment, source_repo: SourceRepo) -> None:
    email = sign_up(deployed)  # before the deploy: in its pre-deploy backup, with no nickname
    sha = commit_migration(source_repo, "nickname3", "0914", ADD_NICKNAME)
    deployed.jobnaut("deploy", sha)
    execute(deployed, f"UPDATE users SET nickname = 'ada' WHERE email = '{email}'")

    refused = deployed.jobnaut("rollback", "migration", "--restore-db", check=False)
    assert refused.returncode == 1 and "would discard" in refused.stderr
    assert "users: 1 updated (newer-only column nickname: 1 rows with a value)" \
        in refused.stderr
    assert revision(deployed) == "0914"

    done = deployed.jobnaut("rollback", "migration", "--restore-db", "--yes")
    assert "newer-only column nickname: 1 rows with a value" in done.stderr
    assert "swapped in the copy restored before the window" in done.stderr
    assert revision(deployed) == HEAD and email in emails(deployed)


def test_status_shows_migrations_the_database_has_beyond_the_code(
        deployed: Environment) -> None:
    # The release the previous test rolled back runs its migration again (a rollback that
    # returned the code but not the schema): the database is ahead of the serving code.
    newer = next(r for r in deployed.releases() if r["schema_revision"] == "0914")
    ops = Env.open(deployed.home)
    release = ops.find_release(newer["id"])
    release_env.run_schema(ops, release, "up")
    assert revision(deployed) == "0914"
    try:
        state = deployed.json("migrate", "status")
        assert [h["revision"] for h in state["ahead"]] == ["0914"]
        assert state["ahead"][0]["doc"] == ADD_NICKNAME["doc"]
        assert state["pending"] == []
        assert [h["revision"] for h in state["applied"]][-1] == HEAD
        assert state["database_ahead"].startswith(
            f"the database is ahead of the code: it is at 0914, which {newer['id']} "
            "(rolled_back) expects")

        shown = deployed.jobnaut("migrate", "status").stdout
        assert "ahead   0914 add users.nickname (applied; unknown to this code)" in shown
        assert "pending" not in shown
        assert "`jobnaut rollback migration`" in shown and "deploy the newer release" in shown
    finally:  # the newer release's own downgrade puts the schema back for the next tests
        release_env.run_schema(ops, release, "down", "--to", HEAD)
    assert deployed.json("migrate", "status")["ahead"] == []


def test_status_names_a_revision_no_release_knows(deployed: Environment) -> None:
    execute(deployed, "UPDATE alembic_version SET version_num = '0999'")
    try:
        state = deployed.json("migrate", "status")
    finally:
        execute(deployed, f"UPDATE alembic_version SET version_num = '{HEAD}'")
    assert state["ahead"] == [{"revision": "0999", "down_revision": None,
                               "doc": "(in no built release's migrations)"}]
    assert state["pending"] == [] and state["applied"][-1]["revision"] == HEAD
    assert state["database_ahead"].startswith("the database is ahead of the code: it is at "
                                              "0999;")


def test_emergency_freezes_deploys_and_reverts_code_and_schema(
        deployed: Environment, source_repo: SourceRepo) -> None:
    good = deployed.json("status")["active_release"]
    kept = sign_up(deployed)
    sha = commit_migration(source_repo, "emergency", "0911", ADD_NICKNAME)
    deployed.jobnaut("deploy", sha)
    written_after = sign_up(deployed)

    result = deployed.jobnaut("rollback", "emergency", "--reason", "checkout broken", "--yes")
    assert "stability" in result.stderr
    state = deployed.json("status")
    assert state["active_release"] == good
    assert revision(deployed) == HEAD
    assert {kept, written_after} <= emails(deployed)  # a downgrade: nothing discarded
    assert "checkout broken" in state["deploy_freeze"]

    frozen = deployed.jobnaut("deploy", "main", check=False)
    assert frozen.returncode == 1 and "frozen" in frozen.stderr
    frozen_config = deployed.jobnaut("config", "set", "API_TIMEOUT_SECONDS=3", check=False)
    assert frozen_config.returncode == 1 and "frozen" in frozen_config.stderr
    deployed.jobnaut("freeze", "--lift", "--reason", "fixed in the next release")
    assert deployed.json("status")["deploy_freeze"] is None
    assert httpx.get(f"{deployed.api}/health/ready").status_code == 200


def test_resolve_rolled_back_checks_the_live_schema_first(
        deployed: Environment, source_repo: SourceRepo) -> None:
    sha = commit_migration(source_repo, "audit", "0912", ADD_TABLE)
    deployed.jobnaut("deploy", sha)
    assert revision(deployed) == "0912"

    refused = deployed.jobnaut("migrate", "resolve", "--rolled-back", "0912", check=False)
    assert refused.returncode == 1 and "extra table audit_notes" in refused.stderr
    assert revision(deployed) == "0912"

    execute(deployed, "DROP TABLE audit_notes")  # someone reverted it by hand
    resolved = deployed.jobnaut("migrate", "resolve", "--rolled-back", "0912")
    assert "recorded as rolled back" in resolved.stdout
    assert revision(deployed) == HEAD


def test_reset_requires_the_environment_name_and_backs_up_first(
        deployed: Environment) -> None:
    deployed.jobnaut("rollback", "code", "--yes", check=False)  # back on a release at HEAD
    email = sign_up(deployed)
    wrong = deployed.jobnaut("migrate", "reset", "--confirm", "nope", check=False)
    assert wrong.returncode == 2 and email in emails(deployed)
    before = len(deployed.json("backup", "list"))

    done = deployed.jobnaut("migrate", "reset", "--confirm", "test")
    assert "backup" in done.stdout
    assert email not in emails(deployed)
    backups = deployed.json("backup", "list")
    assert len(backups) == before + 1 and backups[0]["kind"] == "pre-reset"
    assert backups[0]["tables"]["users"] >= 1
    assert "users" in tables(deployed)


def test_prune_shows_by_default_and_never_removes_a_kept_release_backup(
        deployed: Environment) -> None:
    for _ in range(3):
        deployed.jobnaut("backup", "create")
    for backup in deployed.json("backup", "list"):
        deployed.jobnaut("backup", "verify", backup["id"])
    before = {b["id"] for b in deployed.json("backup", "list")}
    shown = deployed.jobnaut("backup", "prune", "--keep", "1", "--retention-days", "0")
    assert {b["id"] for b in deployed.json("backup", "list")} == before  # only shown
    deployed.jobnaut("backup", "prune", "--keep", "1", "--retention-days", "0", "--yes")
    after = {b["id"] for b in deployed.json("backup", "list")}
    protected = {r["backup_id"] for r in deployed.releases() if r["backup_id"]}
    assert after < before or "nothing to prune" in shown.stdout
    kept_releases = deployed.releases()[:5]
    assert {r["backup_id"] for r in kept_releases if r["backup_id"]} <= after | (
        protected - before)
