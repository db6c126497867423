"""Database commands: `rollback migration`, `backup …` and `migrate …` on an environment."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from jobnaut.cli.ops_cmds import _confirm, locked, open_env, rollback_app, run_procedure
from jobnaut.cli.output import console, fail, print_json
from jobnaut.cli.tables import Column, human_size, print_table
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError

backup_app = typer.Typer(help="Back up, verify, restore and prune the database.",
                         no_args_is_help=True)
migrate_app = typer.Typer(help="The environment's schema: status, up, down, resolve, reset, "
                               "check.", no_args_is_help=True)


def require_backup(env: Env, backup_id: str) -> str:
    """A backup of this environment, checked before anything is recorded. A malformed or
    unknown id is a usage error (exit 2): an id is a name in the backups directory, never
    a path. A backup that exists but is incomplete fails as usual (exit 1)."""
    from jobnaut.ops import backups
    from jobnaut.ops.backups.store import ID_PATTERN, PARTIAL

    if not ID_PATTERN.fullmatch(backup_id):
        raise OpsError(f"{backup_id!r} is not a backup id (like 20261128T221500Z-manual)",
                       hint="`jobnaut backup list` lists them", exit_code=2)
    try:
        return backups.get_backup(env.home, backup_id).id
    except OpsError as exc:
        if any(env.home.backups.joinpath(backup_id + end).exists() for end in ("", PARTIAL)):
            raise
        raise OpsError(exc.message, exc.hint, exit_code=2) from None


@rollback_app.command("migration")
def rollback_migration(
    to: str | None = typer.Option(None, "--to", help="release whose schema to return to "
                                                     "(default: the previous good one)"),
    restore_db: bool = typer.Option(False, "--restore-db", help="restore the pre-deploy "
                                    "backup instead of downgrading (discards newer writes)"),
    dry_run: bool = typer.Option(False, "--dry-run"),
    yes: bool = typer.Option(False, "--yes", help="accept destroying or discarding data (kept "
                                                  "in the safety backup)"),
    resume: bool = typer.Option(False, "--resume"),
    reason: str = typer.Option("", "--reason", "-m"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Plan scenario 2: stop the backend, downgrade with the newer release's scripts (or
    restore its pre-deploy backup), verify integrity, re-deploy the target release."""
    from jobnaut.ops.actions.database import MIGRATION_ROLLBACK

    args = {"to": to, "restore_db": restore_db, "yes": yes, "dry_run": dry_run,
            "reason": reason or "operator request"}
    if not (dry_run or yes or resume):
        _confirm(MIGRATION_ROLLBACK, args)
    run_procedure(MIGRATION_ROLLBACK, args, dry_run=dry_run, resume=resume, as_json=as_json)


@backup_app.command("create")
def backup_create(as_json: bool = typer.Option(False, "--json")) -> None:
    """Back up the database now."""
    from jobnaut.ops.actions.backup_step import take_backup

    env = open_env()
    manifest = take_backup(env, env.ledger.active_release(), "manual")
    if as_json:
        print_json(manifest.as_json())
    else:
        console.print(f"[green]✓[/] backup {manifest.id}: {manifest.size} bytes, "
                      f"{sum(manifest.tables.values())} rows, sha256 {manifest.sha256[:16]}…")


@backup_app.command("list")
def backup_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List complete backups, newest first."""
    from jobnaut.ops import backups

    items = backups.list_backups(open_env().home)
    if as_json:
        print_json([m.as_json() for m in items])
        return
    columns = [Column("id", identifier=True), Column("kind", drop_order=3),
               Column("release", drop_order=4), Column("schema", drop_order=5),
               Column("size", justify="right"), Column("rows", drop_order=2, justify="right"),
               Column("verified", drop_order=1)]
    print_table(console, columns, [
        [m.id, m.kind, m.release or "", m.schema_revision or "", human_size(m.size),
         f"{sum(m.tables.values()):,}", (m.verified_at or "no")[:16].replace("T", " ")]
        for m in items])


@backup_app.command("verify")
def backup_verify(backup_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Checksum, test restore into a scratch database, integrity and row counts."""
    from jobnaut.ops import backups

    env = open_env()
    result = backups.verify_backup(env.home, require_backup(env, backup_id))
    if as_json:
        print_json({"ok": result.ok, "checks": [
            {"name": n, "ok": ok, "detail": d} for n, ok, d in result.checks]})
    else:
        for name, ok, detail in result.checks:
            console.print(f"{'[green]✓[/]' if ok else '[red]✗[/]'} {name}: {detail}")
    if not result.ok:
        raise typer.Exit(1)


@backup_app.command("restore")
def backup_restore(
    backup_id: str,
    yes: bool = typer.Option(False, "--yes", help="accept discarding rows written since"),
    dry_run: bool = typer.Option(False, "--dry-run"),
    resume: bool = typer.Option(False, "--resume"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Restore a backup under the active release: safety backup first, report what it
    discards (needs --yes), restore side by side, swap, restart, verify."""
    from jobnaut.ops.actions.database import MIGRATION_ROLLBACK

    env = open_env()
    backup_id = require_backup(env, backup_id)
    active = env.ledger.active_release()
    if active is None:
        fail("nothing is deployed yet")
    args = {"to": active.name, "restore_db": True, "backup": backup_id, "yes": yes,
            "dry_run": dry_run}
    run_procedure(MIGRATION_ROLLBACK, args, dry_run=dry_run, resume=resume, as_json=as_json)


@backup_app.command("prune")
def backup_prune(
    keep: int = typer.Option(5, help="verified backups to keep"),
    retention_days: float = typer.Option(7.0, help="keep safety backups this long"),
    yes: bool = typer.Option(False, "--yes", help="delete (default: only show)"),
) -> None:
    """Remove old backups; never one a kept release refers to, nor a young safety backup.
    Shows what it would delete unless --yes."""
    from jobnaut.ops import backups

    env = open_env()
    releases = env.ledger.releases()
    kept = releases[-env.home.config.keep_releases:]
    protected = {r.backup_id for r in kept if r.backup_id}
    active = env.ledger.active_release()
    if active and active.backup_id:
        protected.add(active.backup_id)
    doomed = backups.prune_plan(env.home, keep=keep, protected=protected,
                                safety_retention_days=retention_days)
    for m in doomed:
        console.print(f"{'deleting' if yes else 'would delete'} {m.id} ({m.kind}, {m.size} bytes)")
    if not doomed:
        console.print("nothing to prune")
    if yes and doomed:
        with locked(env, "backup prune"):
            backups.delete_backups(env.home, doomed)
        env.ledger.event(f"pruned {len(doomed)} backups")


@backup_app.command("diff")
def backup_diff(
    older: str, newer: str,
    out: Path = typer.Option(Path("backup-diff"), help="directory for the exported rows"),
    fmt: str = typer.Option("json", "--format", help="json or csv"),
) -> None:
    """Export the rows inserted, updated and deleted between two backups, per table, and
    name the columns only the newer one has (with how many rows hold a value in each): a
    restore of the older backup loses those values, so their rows count as updated."""
    from jobnaut.ops import backups
    from jobnaut.ops.backups.diff import discarded_by_restore

    if fmt not in ("json", "csv"):
        fail("--format must be json or csv", code=2)
    env = open_env()
    diff = backups.compare_backups(env.home, require_backup(env, older),
                                   require_backup(env, newer))
    files = backups.export_diff(diff, out, fmt)
    for table in discarded_by_restore(diff).tables:
        console.print(table.describe(), markup=False)
    console.print(f"wrote {len(files)} files to {out}")


@migrate_app.command("status")
def migrate_status(as_json: bool = typer.Option(False, "--json")) -> None:
    """The database's revision, what each release expects, applied and pending migrations
    (and those applied but unknown to the active code, when the database is ahead of it)."""
    from jobnaut.ops.actions import schema_ops

    state = schema_ops.status(open_env())
    if as_json:
        print_json(state)
        return
    console.print(f"database at [bold]{state['database_revision']}[/]; active "
                  f"{state['active_release']} expects {state['active_expects']}")
    for h in state["applied"]:
        console.print(f"  [green]applied[/] {h['revision']} {h['doc']}")
    for h in state["ahead"]:
        console.print(f"  [red]ahead[/]   {h['revision']} {h['doc']} (applied; unknown to "
                      "this code)")
    for h in state["pending"]:
        console.print(f"  [yellow]pending[/] {h['revision']} {h['doc']}")
    if state["database_ahead"]:
        console.print(f"[red]{state['database_ahead']}[/]")
    table = Table("release", "status", "expects", "matches db", "rollback ready")
    for r in state["releases"]:
        ready = r["rollback_ready"]
        table.add_row(r["id"], r["status"], r["schema_revision"] or "",
                      "yes" if r["matches_database"] else "no",
                      "-" if ready is None else ("yes" if ready["ready"] else "NO"))
    console.print(table)
    if not state["matching_releases"]:
        console.print("[red]no release expects the database's revision[/]")


@migrate_app.command("up")
def migrate_up() -> None:
    """Apply the active release's pending migrations (backup first)."""
    from jobnaut.ops.actions import schema_ops

    env = open_env()
    with locked(env, "migrate up"):
        console.print(schema_ops.migrate_up(env))


@migrate_app.command("down")
def migrate_down(
    to: str = typer.Option(..., "--to", help="revision (or base)"),
    yes: bool = typer.Option(False, "--yes", help="accept a downgrade that destroys data"),
    dry_run: bool = typer.Option(False, "--dry-run"),
) -> None:
    """Downgrade with the active release's scripts (backup first). Prefer `rollback
    migration`, which also stops the backend and switches the code."""
    from jobnaut.ops.actions import schema_ops

    env = open_env()
    if dry_run:
        console.print(escape(schema_ops.migrate_down(env, to, yes=yes, dry_run=True)))
        return
    with locked(env, "migrate down"):
        console.print(schema_ops.migrate_down(env, to, yes=yes))


@migrate_app.command("resolve")
def migrate_resolve(
    rolled_back: str = typer.Option(..., "--rolled-back", help="the failed migration"),
) -> None:
    """Record a failed migration as rolled back, after checking the live schema really is
    at the revision before it."""
    from jobnaut.ops.actions import schema_ops

    env = open_env()
    with locked(env, "migrate resolve"):
        console.print(schema_ops.resolve_rolled_back(env, rolled_back))


@migrate_app.command("reset")
def migrate_reset(
    confirm: str | None = typer.Option(None, "--confirm", help="the environment's name"),
) -> None:
    """Empty the database and re-apply every migration (backup first). Asks you to retype
    the environment's name."""
    from jobnaut.ops.actions import schema_ops

    env = open_env()
    if confirm is None:
        confirm = typer.prompt(f"type the environment's name ({env.home.config.name}) to "
                               "reset its database")
    with locked(env, "migrate reset"):
        console.print(schema_ops.reset(env, confirm))


@migrate_app.command("check")
def migrate_check(as_json: bool = typer.Option(False, "--json")) -> None:
    """Prove the active release can be rolled back (backup verifies; migrations survive
    down and up on a scratch copy with row counts unchanged)."""
    from jobnaut.ops.actions import schema_ops

    env = open_env()
    active = env.ledger.active_release()
    if active is None:
        fail("nothing is deployed yet")
    verdict = schema_ops.check_rollback_readiness(env, active)
    if as_json:
        print_json(verdict)
    else:
        for note in verdict["notes"]:
            console.print(f"[green]✓[/] {note}")
        for problem in verdict["problems"]:
            console.print(f"[red]✗[/] {problem}")
    if not verdict["ready"]:
        raise typer.Exit(1)


@rollback_app.command("emergency")
def rollback_emergency(
    reason: str = typer.Option("", "--reason", "-m", help="what is wrong (recorded; "
                                                          "required unless --resume)"),
    to: str | None = typer.Option(None, "--to", help="last known good release (default: the "
                                                     "previous good one)"),
    restore_db: bool = typer.Option(False, "--restore-db", help="restore its pre-deploy "
                                                                "backup too"),
    dry_run: bool = typer.Option(False, "--dry-run"),
    yes: bool = typer.Option(False, "--yes"),
    resume: bool = typer.Option(False, "--resume"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The plan's emergency procedure: freeze deploys, revert to the last known good release
    (schema too when it differs), verify all critical flows, record the timeline."""
    from jobnaut.ops.actions.emergency import EMERGENCY

    if not reason and not resume:
        fail("say what is wrong with --reason", code=2)
    args = {"to": to, "restore_db": restore_db, "yes": yes, "dry_run": dry_run,
            "reason": reason}
    if not (dry_run or yes or resume):
        _confirm(EMERGENCY, args)
    run_procedure(EMERGENCY, args, dry_run=dry_run, resume=resume, as_json=as_json)


def freeze_cmd(
    reason: str = typer.Option("", "--reason", "-m"),
    lift: bool = typer.Option(False, "--lift", help="allow deploys again"),
) -> None:
    """Freeze deploys (an emergency does it for you), or lift the freeze (say why: the fix
    or the root cause)."""
    from jobnaut.ops.actions.emergency import freeze, lift_freeze

    env = open_env()
    if lift:
        if not reason.strip():
            fail("say why deploys may resume with --reason (the fix or the root cause)", code=2)
        console.print(lift_freeze(env, reason))
        return
    if not reason:
        fail("say why with --reason", code=2)
    freeze(env, reason)
    console.print(f"deploys frozen: {reason}")
