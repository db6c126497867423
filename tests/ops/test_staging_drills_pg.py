"""The drills where the database takes part, on PostgreSQL: a staging copy in a new
database of production's server, and the migration scenario (a destructive downgrade, then
a restore whose discarded writes must be exactly those it announced)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.ops.conftest import SourceRepo, _up, make_environment
from tests.ops.drill_support import (
    DRILL_TIMEOUT,
    Pair,
    assert_lost_as_announced,
    database_url,
    lost_rows,
    make_pair,
    production_fingerprint,
)
from tests.support.databases import PostgresServer


@pytest.fixture(scope="module")
def pair(source_repo: SourceRepo, postgres: PostgresServer,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    if postgres.admin_url is None:
        pytest.skip(f"PostgreSQL unavailable: {postgres.reason}")
    base = tmp_path_factory.mktemp("drills-pg")
    with postgres.database() as url:
        for production in _up(make_environment(base / "prod", source_repo, url)):
            yield from make_pair(production, base / "staging")


def test_staging_has_its_own_database_on_the_same_server(pair: Pair) -> None:
    prod, staging = database_url(pair.production), database_url(pair.staging)
    assert staging.startswith("postgresql") and staging != prod
    assert staging.rsplit("/", 1)[0] == prod.rsplit("/", 1)[0]
    pair.user.assert_intact(pair.staging.api)


def test_migration_drill_loses_exactly_what_the_restore_announced(pair: Pair) -> None:
    result = pair.staging.jobnaut("drill", "run", "migration", "--json", check=False,
                                  timeout=DRILL_TIMEOUT)
    record = json.loads(result.stdout)
    assert result.returncode == 0 and record["status"] == "passed", (record, result.stderr)
    m = record["metrics"]
    downgrade, restore = m["parts"]
    assert restore["announced_rows"] > 0, "the load wrote while the release served"
    # the rows the load had acknowledged, recounted in the database itself
    assert_lost_as_announced(m, lost_rows(pair.staging, m["acknowledged"]))
    assert downgrade["mttr_seconds"] > 0
    assert production_fingerprint(pair.production) == pair.fingerprint
