"""The built-in drill scenarios by name: the plan section each rehearses and what it does,
for `drill run --dry-run`, the report and `drill history`. Data only, so that the CLI can
name the scenarios without loading what runs them (scenarios.py)."""

from __future__ import annotations

from dataclasses import dataclass

from jobnaut.ops.errors import OpsError


@dataclass(frozen=True)
class Scenario:
    name: str
    section: str  # of the rollback plan
    steps: tuple[str, ...]  # what the drill does, for --dry-run and the report


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("code", "1. Application Code Issues", (
        "commit a release that passes its checks but breaks notes (staging source clone)",
        "deploy it under the synthetic load",
        "detect: the guard's rollback, or the load's failures then `rollback code --yes`",
        "measure until users are served again; verify acknowledged writes")),
    Scenario("migration", "2. Database Migration Issues", (
        "deploy a migration whose downgrade drops a filled column; `rollback migration --yes`",
        "deploy a migration with no downgrade; `rollback migration --restore-db --yes`",
        "compare the acknowledged writes missing with the rows the restore announced")),
    Scenario("config", "3. Configuration Issues", (
        "`config set` a broken job-feed URL; detect with `health`; `rollback config --yes`",
        "`config set` an ENCRYPTION_KEY that cannot read the data: it must be refused")),
    Scenario("emergency", "Emergency Rollback Procedure", (
        "deploy the release that breaks notes; detect from the load's failures",
        "`rollback emergency --yes` (freeze, revert, verify), then `freeze --lift`")),
    Scenario("crash", "Monitoring: the backend dies", (
        "kill the live backend process (SIGKILL)",
        "detect: the guard's restart, or `status` then `jobnaut up`")),
    Scenario("backup", "Restore Database: a corrupted latest backup", (
        "create a backup and corrupt its dump", "`backup verify` must catch it",
        "restore the last good backup beside the live database (RTO)")),
)}


def scenario(name: str) -> Scenario:
    if name not in SCENARIOS:
        raise OpsError(f"unknown scenario {name!r}", hint=f"one of {', '.join(SCENARIOS)}",
                       exit_code=2)
    return SCENARIOS[name]
