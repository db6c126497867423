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
from tests.ops.drill_support import Pair, make_pair, production_fingerprint


@pytest.fixture(scope="module")
def pair(source_repo: SourceRepo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    base = tmp_path_factory.mktemp("drills")
    for production in _up(make_environment(base / "prod", source_repo, None)):
        yield from make_pair(production, base / "staging")


def test_staging_is_a_copy_with_its_own_ports_database_and_mark(pair: Pair) -> None:
    staging, production = pair.staging, pair.production
    assert {staging.backend_port, staging.frontend_port}.isdisjoint(
        {production.backend_port, production.frontend_port})
    state = staging.json("status")
    assert state["environment"] == "staging"
    # the user written in production before its backup, readable with the copied keys
    pair.user.assert_intact(staging.api)
    page = httpx.get(f"{staging.web}/status.json", timeout=5).json()
    assert page["page"]["name"] == "JobNaut (staging)"


def test_staging_create_refuses_without_a_verified_backup(
        pair: Pair, tmp_path: Path) -> None:
    fresh = Environment(tmp_path / "other", 0, 0)
    result = fresh.jobnaut("staging", "create", "--from", str(tmp_path / "nowhere"),
                           check=False)
    assert result.returncode == 1 and "no JobNaut environment" in result.stderr
    assert not (tmp_path / "other").exists()


def test_production_untouched(pair: Pair) -> None:
    assert production_fingerprint(pair.production) == pair.fingerprint


def test_a_drill_on_production_needs_allow_production(pair: Pair) -> None:
    refused = pair.production.jobnaut("drill", "run", "crash", check=False)
    assert refused.returncode == 1
    assert "not a staging environment" in refused.stderr and "--allow-production" in \
        refused.stderr
    plan = pair.production.json("drill", "run", "crash", "--dry-run", "--allow-production")
    assert plan["dry_run"] and plan["steps"]
    unknown = pair.staging.jobnaut("drill", "run", "meteor", check=False)
    assert unknown.returncode == 2 and "unknown scenario" in unknown.stderr
    assert production_fingerprint(pair.production) == pair.fingerprint


def drill(pair: Pair, scenario: str) -> dict[str, Any]:
    result = pair.staging.jobnaut("drill", "run", scenario, "--json", check=False)
    record = json.loads(result.stdout)
    assert result.returncode == 0, (record, result.stderr)
    assert record["status"] == "passed"
    return record


def test_crash_drill(pair: Pair) -> None:
    record = drill(pair, "crash")
    m = record["metrics"]
    assert m["acknowledged_writes"] > 0 and m["rpo_rows"] == 0
    assert 0 < m["detect_seconds"] <= m["mttr_seconds"]
