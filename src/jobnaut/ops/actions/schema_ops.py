"""`jobnaut migrate …` on an environment: where the schema stands, low-level moves that
always back up first, and the proof that a release can be rolled back."""

from __future__ import annotations

import json
from typing import Any

from jobnaut.ops import backups, migrations
from jobnaut.ops.actions import switching
from jobnaut.ops.actions.database import take_backup
from jobnaut.ops.backups.core import restored_copy, scratch_target
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import Release


def _schema(env: Env, release: Release, *args: str, config: dict[str, str] | None = None) -> str:
    switching.ensure_built(env, release)
    return switching.run_schema(env, release, *args, config=config)


def status(env: Env) -> dict[str, Any]:
    active = env.require_active()
    revision = switching.database_revision(env, active)
    history = migrations.history(env.home.build_dir(active.ref),
                                 switching.service_env(env, active, "backend"))
    order = [h["revision"] for h in history]
    position = order.index(revision) if revision in order else -1
    releases = [{"id": r.name, "status": r.status, "schema_revision": r.schema_revision,
                 "matches_database": r.schema_revision == revision,
                 "rollback_ready": env.ledger.rollback_verdict(r.id)}
                for r in env.ledger.releases() if r.status != "failed"]
    return {
        "database_revision": revision,
        "active_release": active.name,
        "active_expects": active.schema_revision,
        "applied": [h for h in history if order.index(h["revision"]) <= position],
        "pending": [h for h in history if order.index(h["revision"]) > position],
        "releases": releases,
        "matching_releases": [r["id"] for r in releases if r["matches_database"]],
    }


def migrate_up(env: Env) -> str:
    active = env.require_active()
    manifest = take_backup(env, active, "safety")
    out = _schema(env, active, "up")
    return f"backup {manifest.id}; {out.strip().splitlines()[-1]}"


def migrate_down(env: Env, to: str, *, yes: bool) -> str:
    active = env.require_active()
    current = switching.database_revision(env, active)
    steps = migrations.plan_downgrade(env.home.build_dir(active.ref),
                                      switching.service_env(env, active, "backend"),
                                      current or "base", to)
    broken = [s for s in steps if not s.works]
    if broken:
        raise OpsError(f"migration {broken[0].revision} has no working downgrade")
    destructive = [e for s in steps for e in s.effects if e.destructive]
    if destructive and not yes:
        raise OpsError("the downgrade destroys data: " + "; ".join(e.describe()
                                                                  for e in destructive),
                       hint="rerun with --yes (a backup is taken first)")
    manifest = take_backup(env, active, "pre-downgrade")
    out = _schema(env, active, "down", "--to", to)
    return (f"backup {manifest.id}; {out.strip().splitlines()[-1]} — {active.name} expects "
            f"{active.schema_revision}: `jobnaut rollback code` to the matching release")


def resolve_rolled_back(env: Env, revision: str) -> str:
    """Mark a failed migration as rolled back — only if the live schema really is at the
    revision before it (compared with a scratch database migrated there)."""
    active = env.require_active()
    history = {h["revision"]: h for h in migrations.history(
        env.home.build_dir(active.ref), switching.service_env(env, active, "backend"))}
    if revision not in history:
        raise OpsError(f"{revision} is not a migration of {active.name}", exit_code=2)
    earlier = history[revision]["down_revision"] or "base"
    live_shape = json.loads(_schema(env, active, "shape").strip().splitlines()[-1])
    config = env.release_config(active)
    with scratch_target(config["DATABASE_URL"]) as scratch_url:
        _schema(env, active, "up", "--to", earlier, config={"DATABASE_URL": scratch_url})
        shape = _schema(env, active, "shape", config={"DATABASE_URL": scratch_url})
        expected = json.loads(shape.strip().splitlines()[-1])
    if live_shape != expected:
        differences = _shape_diff(expected, live_shape)
        raise OpsError(f"the live schema is not at {earlier}: " + "; ".join(differences[:6]),
                       hint=f"{revision} is still (partly) applied; downgrade it or restore")
    manifest = take_backup(env, active, "safety")
    _schema(env, active, "stamp", earlier)
    env.ledger.event(f"migration {revision} resolved as rolled back (schema checked at "
                     f"{earlier}; backup {manifest.id})")
    return f"live schema matches {earlier}; {revision} recorded as rolled back"


def _shape_diff(expected: dict[str, list[str]], live: dict[str, list[str]]) -> list[str]:
    out = []
    for table in sorted(set(expected) | set(live)):
        if table not in live:
            out.append(f"table {table} missing")
        elif table not in expected:
            out.append(f"extra table {table}")
        else:
            extra = set(live[table]) - set(expected[table])
            missing = set(expected[table]) - set(live[table])
            out += [f"extra column {table}.{c}" for c in sorted(extra)]
            out += [f"missing column {table}.{c}" for c in sorted(missing)]
    return out


def reset(env: Env, confirm_name: str) -> str:
    if confirm_name != env.home.config.name:
        raise OpsError(f"type the environment's name ({env.home.config.name!r}) to reset it",
                       exit_code=2)
    active = env.require_active()
    manifest = take_backup(env, active, "pre-reset")
    _schema(env, active, "down", "--to", "base")
    _schema(env, active, "up")
    env.ledger.event(f"database reset to an empty schema at {active.schema_revision} "
                     f"(everything before is in backup {manifest.id})", level="warning")
    return f"reset; the data before is in backup {manifest.id}"



# Rollback readiness ------------------------------------------------------------------------

def check_rollback_readiness(env: Env, release: Release) -> dict[str, Any]:
    """Prove `release` can be rolled back: its pre-deploy backup verifies, and its migrations
    survive upgrade → downgrade → upgrade on a scratch copy of the real database with row
    counts unchanged. The verdict is kept in the ledger for `releases` and `status`."""
    problems: list[str] = []
    notes: list[str] = []
    if release.backup_id:
        check = backups.verify_backup(env.home, release.backup_id)
        if check.ok:
            notes.append(f"backup {release.backup_id} verifies")
        else:
            problems += [f"backup: {n}: {d}" for n, ok, d in check.checks if not ok]
    else:
        problems.append("no pre-deploy backup")
    previous = [r for r in env.ledger.releases() if r.id < release.id and r.activated_at
                and r.status != "failed"]
    before = previous[-1].schema_revision if previous else None
    if before and before != release.schema_revision:
        problems += _round_trip(env, release, before, notes)
    else:
        notes.append("no schema change to undo")
    verdict = {"ready": not problems, "problems": problems, "notes": notes}
    env.ledger.set_rollback_verdict(release.id, verdict)
    return verdict


def _round_trip(env: Env, release: Release, before: str, notes: list[str]) -> list[str]:
    snapshot = take_backup(env, release, "safety")
    with restored_copy(env.home, snapshot, None) as scratch_url:
        config = {"DATABASE_URL": scratch_url}
        counts = backups.table_counts(scratch_url)
        try:
            _schema(env, release, "down", "--to", before, config=config)
            _schema(env, release, "up", config=config)
        except OpsError as exc:
            return [f"upgrade → downgrade → upgrade failed: {exc.message}"]
        after = backups.table_counts(scratch_url)
    lost = [f"{t}: {counts[t]} → {after.get(t, 0)}" for t in counts
            if t != "alembic_version" and after.get(t, 0) != counts[t]]
    if lost:
        return ["downgrade to " + before + " loses rows: " + "; ".join(lost)]
    notes.append(f"schema {release.schema_revision} → {before} → {release.schema_revision} "
                 "kept every row on a scratch copy")
    return []
