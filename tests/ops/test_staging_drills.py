"""Staging copies and drills end to end on SQLite: one production environment with data,
one staging copy of it, the scenarios in sequence. The database-independent scenarios run
here only; test_staging_drills_pg runs the ones where the database takes part."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ops.conftest import Environment, SourceRepo, _up, make_environment
from tests.ops.drill_support import (
    DRILL_TIMEOUT,
    Pair,
    assert_lost_as_announced,
    lost_rows,
    make_pair,
    production_fingerprint,
)
from tests.ops.helpers import UserData
from tests.support.inbox import WebhookInbox, wait_for, webhook_inbox


@pytest.fixture(scope="module")
def pair(source_repo: SourceRepo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    base = tmp_path_factory.mktemp("drills")
    for production in _up(make_environment(base / "prod", source_repo, None)):
        yield from make_pair(production, base / "staging")


@pytest.fixture(scope="module")
def hooks(pair: Pair) -> Iterator[WebhookInbox]:
    """The staging copy's team chat and users' channel, one inbox (told apart by path)."""
    with webhook_inbox() as inbox:
        pair.staging.jobnaut("notify", "add", "team-chat", inbox.url("team"), "--audience",
                             "team")
        pair.staging.jobnaut("notify", "add", "users", inbox.url("users"), "--audience",
                             "users")
        yield inbox


def drill(pair: Pair, scenario: str) -> dict[str, Any]:
    result = pair.staging.jobnaut("drill", "run", scenario, "--json", check=False,
                                  timeout=DRILL_TIMEOUT)
    record: dict[str, Any] = json.loads(result.stdout)
    assert result.returncode == 0 and record["status"] == "passed", (record, result.stderr)
    return record


def test_staging_is_a_copy_with_its_own_ports_database_and_mark(pair: Pair) -> None:
    staging, production = pair.staging, pair.production
    assert {staging.backend_port, staging.frontend_port}.isdisjoint(
        {production.backend_port, production.frontend_port})
    assert staging.json("status")["environment"] == "staging"
    # the user written in production before its backup, readable with the copied keys
    pair.user.assert_intact(staging.api)
    page = httpx.get(f"{staging.web}/status.json", timeout=5).json()
    assert page["page"]["name"] == "JobNaut (staging)"
    assert staging.releases()[0]["ref"] == production.releases()[0]["ref"]


def test_staging_create_refuses_what_it_cannot_copy(pair: Pair, tmp_path: Path) -> None:
    elsewhere = Environment(tmp_path / "staging", 0, 0)
    missing = elsewhere.jobnaut("staging", "create", "--from", str(tmp_path / "nowhere"),
                                check=False)
    assert missing.returncode == 1 and "no JobNaut environment" in missing.stderr
    again = elsewhere.jobnaut("staging", "create", "--from", str(pair.production.home),
                              "--home", str(pair.staging.home), check=False)
    assert again.returncode == 1 and "already holds an environment" in again.stderr
    not_staging = pair.production.jobnaut("staging", "refresh", check=False)
    assert not_staging.returncode == 1 and "not a staging environment" in not_staging.stderr
    assert not (tmp_path / "staging").exists()


def test_a_drill_on_production_needs_allow_production(pair: Pair) -> None:
    refused = pair.production.jobnaut("drill", "run", "crash", check=False)
    assert refused.returncode == 1
    assert "not a staging environment" in refused.stderr
    assert "--allow-production" in refused.stderr
    plan = pair.production.json("drill", "run", "crash", "--dry-run", "--allow-production")
    assert plan["dry_run"] and plan["steps"]
    unknown = pair.staging.jobnaut("drill", "run", "meteor", check=False)
    assert unknown.returncode == 2 and "unknown scenario" in unknown.stderr
    assert production_fingerprint(pair.production) == pair.fingerprint


def test_crash_drill(pair: Pair) -> None:
    m = drill(pair, "crash")["metrics"]
    assert m["acknowledged_writes"] > 0 and m["rpo_rows"] == 0
    assert 0 < m["detect_seconds"] <= m["mttr_seconds"]


def test_code_drill(pair: Pair) -> None:
    m = drill(pair, "code")["metrics"]
    assert m["failed_requests"] > 0, "the faulty release failed users before the rollback"
    assert m["rpo_rows"] == 0 == lost_rows(pair.staging, m["acknowledged"])
    releases = pair.staging.releases()
    assert releases[0]["status"] == "rolled_back" and releases[1]["status"] == "active"


def test_config_drill(pair: Pair) -> None:
    m = drill(pair, "config")["metrics"]
    key = next(p for p in m["parts"] if p["case"] == "config: encryption key")
    assert key["caught"]
    assert m["rpo_rows"] == 0 and m["failed_requests"] == 0


def test_emergency_drill_tells_the_team_only_and_is_no_outage(
        pair: Pair, hooks: WebhookInbox) -> None:
    m = drill(pair, "emergency")["metrics"]
    assert m["rpo_rows"] == 0 == lost_rows(pair.staging, m["acknowledged"])
    team = wait_for(lambda: [p for p in hooks.posts if p["path"] == "/team"], 30,
                    "the team's drill notice")
    assert all("[staging]" in p["title"] and "[drill]" in p["title"] for p in team)
    assert not [p for p in hooks.posts if p["path"] == "/users"]
    page = httpx.get(f"{pair.staging.web}/status.json", timeout=5).json()
    assert page["status"]["indicator"] == "operational" and not page["recent_incidents"]
    state = pair.staging.json("status")
    assert not state["deploy_freeze"] and not state["incidents"]


def test_backup_drill_catches_the_corrupted_backup(pair: Pair) -> None:
    m = drill(pair, "backup")["metrics"]
    assert m["parts"][0]["caught"] and m["rto_seconds"] > 0
    listed = {b["id"]: b for b in pair.staging.json("backup", "list")}
    assert not listed[m["parts"][0]["detail"].split()[1].rstrip(";")]["verified_at"]


def test_migration_drill_loses_exactly_what_the_restore_announced(pair: Pair) -> None:
    m = drill(pair, "migration")["metrics"]
    restore = m["parts"][1]
    assert restore["announced_rows"] > 0, "the load wrote while the release served"
    assert_lost_as_announced(m, lost_rows(pair.staging, m["acknowledged"]))


def test_report_history_and_schedule(pair: Pair) -> None:
    history = pair.staging.json("drill", "history")
    assert {d["scenario"] for d in history["drills"]} == {
        "crash", "code", "config", "emergency", "backup", "migration"}
    assert all(s["last_passed"] for s in history["scenarios"].values())
    backup = next(d["id"] for d in history["drills"] if d["scenario"] == "backup")
    written = pair.staging.jobnaut("drill", "report", str(backup)).stdout
    markdown = pair.staging.home / "reports" / f"drill-{backup}.md"
    assert str(markdown) in written
    text = markdown.read_text()
    assert "| rto_seconds |" in text and "| pass |" in text and f"drill-{backup}.svg" in text
    assert "<svg" in (pair.staging.home / "reports" / f"drill-{backup}.html").read_text()
    missing = pair.staging.jobnaut("drill", "report", "99", check=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    units = pair.staging.jobnaut("drill", "schedule", "--monthly", "--print").stdout
    assert "OnCalendar=" in units and "drill run crash" in units


def test_staging_refresh_brings_production_back_and_keeps_staging_data(pair: Pair) -> None:
    def safety_backups() -> set[str]:
        return {b["id"] for b in pair.staging.json("backup", "list") if b["kind"] == "safety"}

    ours = UserData(pair.staging.api).create()  # written on staging only
    before = safety_backups()
    pair.staging.jobnaut("staging", "refresh")
    assert safety_backups() - before, "the staging database was backed up before the swap"
    pair.user.assert_intact(pair.staging.api)
    gone = httpx.get(f"{pair.staging.api}/api/me",
                     headers={"authorization": f"Bearer {ours.token}"}, timeout=5)
    assert gone.status_code == 401
    assert pair.staging.json("status")["environment"] == "staging"


def test_production_untouched(pair: Pair) -> None:
    assert production_fingerprint(pair.production) == pair.fingerprint
    pair.user.assert_intact()
