"""`jobnaut migrate …` on an environment: where the schema stands, low-level moves that
always back up first, and the proof that a release can be rolled back."""

from __future__ import annotations

from typing import Any

from jobnaut.app.schema_shape import shape_differences
from jobnaut.ops import backups, build, lock, migrations
from jobnaut.ops.actions import release_env
from jobnaut.ops.actions.backup_step import take_backup
from jobnaut.ops.backups.core import restored_copy, scratch_target
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError
from jobnaut.ops.history import previous_good_or_none
from jobnaut.ops.ledger import Release


def _schema(env: Env, release: Release, *args: str, config: dict[str, str] | None = None) -> str:
    release_env.ensure_built(env, release)
    return release_env.run_schema(env, release, *args, config=config)


def status(env: Env) -> dict[str, Any]:
    """Where the database stands against the active release's migrations. A database ahead
    of the code (at a revision this code does not have, after a failed or partial rollback)
    lists those migrations as "ahead": applied, but unknown to this code."""
    active = env.require_active()
    revision = release_env.database_revision(env, active)
    history = migrations.history(env.home.build_dir(active.ref),
                                 release_env.service_env(env, active, "backend"))
    order = [h["revision"] for h in history]
    ahead: list[dict[str, Any]] = []
    if revision is None or revision in order:
        position = order.index(revision) if revision in order else -1
        applied, pending = history[:position + 1], history[position + 1:]
    else:
        applied, ahead = _ahead_of(env, history, revision)
        pending = [h for h in history if h not in applied]
    releases = [{"id": r.name, "status": r.status, "schema_revision": r.schema_revision,
                 "matches_database": r.schema_revision == revision,
                 "rollback_ready": env.ledger.rollback_verdict(r.id)}
                for r in env.ledger.releases() if r.status != "failed"]
    return {
        "database_revision": revision,
        "active_release": active.name,
        "active_expects": active.schema_revision,
        "applied": applied,
        "pending": pending,
        "ahead": ahead,
        "database_ahead": _ahead_advice(env, active, revision, ahead) if ahead else None,
        "releases": releases,
        "matching_releases": [r["id"] for r in releases if r["matches_database"]],
    }


def _ahead_of(env: Env, history: list[dict[str, Any]],
              revision: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(this code's migrations the database has, the migrations it has beyond them), read
    from the migrations of a release that knows `revision` (a failed one counts: its
    migration may have run)."""
    known = [h["revision"] for h in history]
    lineage = _history_knowing(env, revision)
    if lineage is None:  # no built release knows it: assume it builds on all of this code
        return history, [{"revision": revision, "down_revision": None,
                          "doc": "(in no built release's migrations)"}]
    upto = lineage[:[h["revision"] for h in lineage].index(revision) + 1]
    reached = {h["revision"] for h in upto}
    return ([h for h in history if h["revision"] in reached],
            [h for h in upto if h["revision"] not in known])


def _history_knowing(env: Env, revision: str) -> list[dict[str, Any]] | None:
    for release in sorted(reversed(env.ledger.releases()), key=lambda r: r.status == "failed"):
        build_dir = env.home.build_dir(release.ref)
        if release.schema_revision == revision and build.is_built(build_dir):
            found = migrations.history(build_dir, release_env.service_env(env, release, "backend"))
            if revision in [h["revision"] for h in found]:
                return found
    return None


def _ahead_advice(env: Env, active: Release, revision: str | None,
                  ahead: list[dict[str, Any]]) -> str:
    newer = [f"{r.name} ({r.status})" for r in env.ledger.releases()
             if r.schema_revision == revision]
    expected_by = f", which {', '.join(newer)} expects" if newer else ""
    return (f"the database is ahead of the code: it is at {revision}{expected_by}; "
            f"{active.name} knows migrations only up to {active.schema_revision}, so "
            f"{len(ahead)} applied migration(s) are unknown to it. Return the schema to "
            f"{active.schema_revision} with the newer release's downgrade scripts (`jobnaut "
            "rollback migration`), or deploy the newer release")


@lock.locked_action("migrate up")
def migrate_up(env: Env) -> str:
    active = env.require_active()
    manifest = take_backup(env, active, "safety")
    out = _schema(env, active, "up")
    return f"backup {manifest.id}; {out.strip().splitlines()[-1]}"


@lock.locked_action("migrate down")
def migrate_down(env: Env, to: str, *, yes: bool, dry_run: bool = False) -> str:
    """Downgrade to `to` with the active release's scripts, a backup first. A dry run says
    which migrations would be undone and what each destroys, and changes nothing."""
    active = env.require_active()
    current = release_env.database_revision(env, active)
    steps = migrations.plan_downgrade(env.home.build_dir(active.ref),
                                      release_env.service_env(env, active, "backend"),
                                      current or "base", to)
    broken = [s for s in steps if not s.works]
    if broken:
        raise OpsError(f"migration {broken[0].revision} has no working downgrade")
    destructive = [e for s in steps for e in s.effects if e.destructive]
    if dry_run:
        undone = "; ".join(f"{s.revision}: " + (", ".join(e.describe() for e in s.effects)
                                                or "no schema effect")
                           for s in steps) or "nothing (already there)"
        return (f"dry run, nothing changes: from {current or 'base'} to {to} would undo "
                f"{undone}; a backup is taken first"
                + ("; it destroys data, so it needs --yes" if destructive else ""))
    if destructive and not yes:
        raise OpsError("the downgrade destroys data: " + "; ".join(e.describe()
                                                                  for e in destructive),
                       hint="rerun with --yes (a backup is taken first)")
    manifest = take_backup(env, active, "pre-downgrade")
    out = _schema(env, active, "down", "--to", to)
    return (f"backup {manifest.id}; {out.strip().splitlines()[-1]} — {active.name} expects "
            f"{active.schema_revision}: `jobnaut rollback code` to the matching release")


@lock.locked_action("migrate resolve")
def resolve_rolled_back(env: Env, revision: str) -> str:
    """Mark a failed migration as rolled back — only if the live schema really is at the
    revision before it: the whole schema (tables, columns and their types, constraints,
    indexes, triggers) compared with a scratch database migrated there."""
    active = env.require_active()
    history = {h["revision"]: h for h in migrations.history(
        env.home.build_dir(active.ref), release_env.service_env(env, active, "backend"))}
    if revision not in history:
        raise OpsError(f"{revision} is not a migration of {active.name}", exit_code=2)
    earlier = history[revision]["down_revision"] or "base"
    differences = _differences_from(env, active, earlier)
    if differences:
        raise OpsError(f"the live schema is not at {earlier}; it differs in "
                       f"{len(differences)} ways: " + "; ".join(_first(differences, 20)),
                       hint=f"{revision} is still applied, at least in part: leave it "
                            f"recorded, or undo it (`jobnaut migrate down --to {earlier}`, or "
                            "restore a backup) and resolve again")
    manifest = take_backup(env, active, "safety")
    _schema(env, active, "stamp", earlier)
    env.ledger.event(f"migration {revision} resolved as rolled back (schema checked at "
                     f"{earlier}; backup {manifest.id})")
    return f"live schema matches {earlier}; {revision} recorded as rolled back"


def _differences_from(env: Env, release: Release, revision: str) -> list[str]:
    """How the live schema differs from a scratch database that `release`'s migrations took
    to `revision` (both read by this process, so the comparison does not depend on the
    release's code)."""
    live_url = env.release_config(release)["DATABASE_URL"]
    live = migrations.schema_shape_of(live_url)
    with scratch_target(live_url) as scratch_url:
        _schema(env, release, "up", "--to", revision, config={"DATABASE_URL": scratch_url})
        expected = migrations.schema_shape_of(scratch_url)
    return shape_differences(expected, live)


def _first(items: list[str], limit: int) -> list[str]:
    return items if len(items) <= limit else [*items[:limit], f"and {len(items) - limit} more"]


@lock.locked_action("migrate reset")
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

@lock.locked_action("migrate check")
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
    # Compared with what a rollback of this release would return to (the same rule).
    previous = previous_good_or_none(env, release)
    before = previous.schema_revision if previous else None
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
