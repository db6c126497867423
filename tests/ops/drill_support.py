"""A production environment with data and its staging copy, for the drill modules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobnaut.ops.backups import core as backups
from jobnaut.ops.backups import postgres
from jobnaut.ops.context import Env
from tests.ops.conftest import Environment
from tests.ops.helpers import UserData


@dataclass
class Pair:
    production: Environment
    staging: Environment
    user: UserData  # written in production before its backup
    fingerprint: dict[str, Any]  # production as it was when the staging copy was made


def database_url(env: Environment) -> str:
    ops = Env.open(env.home)
    return ops.config_of(ops.current_config_id())["DATABASE_URL"]


def production_fingerprint(env: Environment) -> dict[str, Any]:
    """What a drill must never change in production: its processes, ports, rows, releases."""
    ops = Env.open(env.home)
    return {
        "processes": sorted((p.service, p.pid, p.port) for p in ops.ledger.running_processes()),
        "releases": [(r.id, r.status) for r in ops.ledger.releases()],
        "rows": backups.table_counts(database_url(env)),
        "operations": [o.id for o in ops.ledger.operations(limit=1000)],
        "serving": env.serving_release(),
    }


def make_pair(production: Environment, staging_home: Path) -> Iterator[Pair]:
    user = UserData(production.api).create()
    backup = production.json("backup", "create")["id"]
    production.jobnaut("backup", "verify", backup)
    fingerprint = production_fingerprint(production)
    created = Environment(staging_home, 0, 0)
    made = created.jobnaut("staging", "create", "--from", str(production.home), "--json")
    info = __import__("json").loads(made.stdout)
    ops = Env.open(staging_home)
    staging = Environment(staging_home, ops.home.config.backend_port,
                          ops.home.config.frontend_port)
    assert info["backup"] == backup
    url = database_url(staging)
    try:
        yield Pair(production, staging, user, fingerprint)
    finally:
        staging.jobnaut("down", check=False)
        parsed = backups.parse(url)
        if backups.engine_of(parsed) == "postgresql":
            postgres.drop_database(parsed, str(parsed.database))
