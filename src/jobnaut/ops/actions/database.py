"""Plan scenario 2 (Database Migration Issues) and the plan's "Restore Database" steps.

Rules (DESIGN.md): downgrade with the newer code, before the code is switched back; prefer
a downgrade (it keeps what users wrote) to a restore (it discards it); every restore and
every destructive step first takes a safety backup, so the rollback itself can be undone.
"""

from __future__ import annotations

import contextlib
from typing import Any

from jobnaut.ops import backups, migrations, runner
from jobnaut.ops.actions import release_env, switching
from jobnaut.ops.actions.backup_step import take_backup
from jobnaut.ops.backups.diff import Discarded, compare_databases, discarded_by_restore
from jobnaut.ops.comms import hooks
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import driver_for, traffic
from jobnaut.ops.environment import SERVICES
from jobnaut.ops.errors import OpsError
from jobnaut.ops.history import previous_good
from jobnaut.ops.ledger import Release
from jobnaut.ops.operation import Procedure, Run, Step


def introducing_release(env: Env, revision: str | None) -> Release:
    """The newest release whose code expects `revision`: its scripts can downgrade it. A
    failed release counts too (its migration may have run before it failed)."""
    releases = list(reversed(env.ledger.releases()))
    for release in sorted(releases, key=lambda r: r.status == "failed"):
        if release.schema_revision == revision:
            return release
    raise OpsError(f"no release expects schema {revision}: no downgrade scripts for it",
                   hint="restore a backup instead: `jobnaut rollback migration --restore-db`")


def plan_migration_rollback(env: Env, args: dict[str, Any],
                            ctx: dict[str, Any]) -> list[Step]:
    active = env.require_active()
    current = env.ledger.release(ctx["from_release"]) if "from_release" in ctx else active
    restore = bool(args.get("restore_db"))
    db_revision = ctx.get("db_revision_before") if "db_revision_before" in ctx else \
        release_env.database_revision(env, current)
    # A database ahead of the serving code (a deploy whose downgrade failed) is first
    # brought back to what the active release expects.
    ahead = db_revision != current.schema_revision
    target = (env.ledger.release(ctx["release_id"]) if "release_id" in ctx
              else env.find_release(args["to"]) if args.get("to")
              else current if ahead and not restore
              else previous_good(env, current))
    if target.id == current.id and not restore and not ahead:
        raise OpsError(f"{target.name} is the active release", exit_code=2)
    if db_revision == target.schema_revision and not restore:
        raise OpsError(f"no migration to roll back: the database is at {db_revision}, which "
                       f"{target.name} expects too",
                       hint="for the code alone: `jobnaut rollback code`; for the data: "
                            "`jobnaut rollback migration --restore-db`", exit_code=2)
    source = introducing_release(env, db_revision) if not restore else current
    if "downgrade" in ctx:
        steps = [migrations.DowngradeStep(**{k: v for k, v in s.items()
                                              if k not in ("effects", "destructive")},
                                          effects=[migrations.Effect(**{
                                              k: v for k, v in e.items() if k != "destructive"})
                                              for e in s["effects"]])
                 for s in ctx["downgrade"]]
    else:
        release_env.ensure_built(env, source)
        steps = migrations.plan_downgrade(
            env.home.build_dir(source.ref), release_env.service_env(env, source, "backend"),
            db_revision or "base", target.schema_revision or "base") if not restore else []
    broken = [s for s in steps if not s.works]
    if broken and not restore:
        raise OpsError(
            f"migration {broken[0].revision} has no working downgrade ({broken[0].error})",
            hint="restore the pre-deploy backup instead: `jobnaut rollback migration "
                 "--restore-db`")
    destructive = [e for s in steps for e in s.effects if e.destructive]
    if destructive and not args.get("yes") and not args.get("dry_run"):
        raise OpsError("the downgrade destroys data: " + "; ".join(e.describe()
                                                                  for e in destructive),
                       hint="it is kept in the safety backup taken first; rerun with --yes")

    def identify(run: Run) -> str:
        run.ctx.update(from_release=current.id, release_id=target.id, previous_active=current.id,
                       db_revision_before=db_revision,
                       downgrade=[s.as_json() for s in steps])
        run.event(f"rolling back the schema from {db_revision} ({current.name}) to "
                  f"{target.schema_revision} ({target.name})"
                  + (" by restoring its pre-deploy backup" if restore else ""), "warning")
        return describe_plan(steps, restore, target)

    def safety_backup(run: Run) -> str:
        manifest = take_backup(env, current, "safety")
        run.ctx["safety_backup"] = manifest.id
        run.ctx["counts_before"] = manifest.tables
        return f"{manifest.id}: {sum(manifest.tables.values())} rows in {len(manifest.tables)} " \
               "tables"

    start, check = switching.start_and_check_steps(lambda run: target, quick_when_warm=True)
    # A restore swaps the database file or name: no backend may hold it open then, so only
    # the frontend is started before; a downgrade works beside the target's idle backend.
    warm_start = switching.start_and_check_steps(lambda run: target,
                                                 ("frontend",) if restore else SERVICES)[0]

    def warm_target(run: Run) -> str:
        # The window then holds only the safety backup, the downgrade and the switch: the
        # target's processes run (reused when warm), and the database code the integrity
        # check runs with is loaded.
        import jobnaut.app.db
        import jobnaut.app.schema  # noqa: F401

        detail = str(warm_start.action(run))
        if restore:
            return detail + "; " + restore_ahead(run)
        if run.operation_id in _prepared:
            return detail
        prepared = release_env.prepare_schema(env, source, "down", "--to",
                                              target.schema_revision or "base")
        if prepared is None:
            return detail + f"; {source.name}'s downgrade runs the plain way (its code "\
                            "cannot be prepared)"
        _prepared[run.operation_id] = prepared
        return detail + f"; {source.name}'s downgrade loaded and connected, waiting"

    def maintenance(run: Run) -> str:
        traffic.ensure_switch(env.home)
        traffic.route(env.home, "backend", None)
        run.ctx["maintenance"] = True
        stopped = []
        for p in env.ledger.running_processes():
            # The leaving release's backend; for a restore, every backend (see above).
            if p.service == "backend" and (restore or p.release_id != target.id):
                driver_for(env.home).stop_process(env.ledger, p, env.home.config.drain_timeout)
                stopped.append(f"v{p.release_id} pid {p.pid}")
        run.event("backend in maintenance: the API answers 503, the web app says so")
        if "maintenance_incident" not in run.ctx:
            run.ctx["maintenance_incident"] = hooks.maintenance_started(
                env, run.operation_id, "We are undoing a database change. JobNaut is "
                "unavailable for a few minutes; your data is safe.")
        return "backend stopped (" + (", ".join(stopped) or "none running") + "); API answers 503"

    def downgrade(run: Run) -> str:
        prepared = _prepared.pop(run.operation_id, None)
        now = release_env.database_revision(env, current)
        if now == target.schema_revision:
            if prepared is not None:
                prepared.cancel()
            return f"already at {now}"
        run.ctx["db_changed"] = True
        run.save()
        if prepared is not None:
            prepared.go()
        else:
            release_env.run_schema(env, source, "down", "--to", target.schema_revision or "base")
        return f"schema {now} → {target.schema_revision} with {source.name}'s downgrade scripts" \
               + (" (prepared before the window)" if prepared is not None else "")

    def restore_source(run: Run) -> backups.Manifest:
        backup_id = args.get("backup") or current.backup_id
        if not backup_id:
            raise OpsError(f"{current.name} has no pre-deploy backup to restore")
        pre = backups.get_backup(env.home, backup_id)
        if pre.schema_revision != target.schema_revision:
            raise OpsError(f"backup {pre.id} holds schema {pre.schema_revision}, "
                           f"{target.name} expects {target.schema_revision}",
                           hint="pick a backup taken at that schema (`jobnaut backup list`)")
        return pre

    def discarded(pre_id: str, now_id: str) -> Discarded:
        return discarded_by_restore(backups.compare_backups(env.home, pre_id, now_id))

    def restore_ahead(run: Run) -> str:
        # The pre-deploy backup does not change: restored beside the live database now,
        # only the swap waits for the window.
        if run.operation_id in _restored:
            return "the backup is already restored beside the live database"
        pre = restore_source(run)
        live_url = env.release_config(current)["DATABASE_URL"]
        _restored[run.operation_id] = SideRestore.make(env, pre.id, live_url)
        return f"{pre.id} restored beside the live database, to be swapped in"

    def report(run: Run) -> str:
        # Before anything stops: what a restore would discard, and the operator's consent.
        pre = restore_source(run)
        check = backups.verify_backup(env.home, pre.id)
        if not check.ok:
            raise OpsError(f"backup {pre.id} does not verify: " + "; ".join(
                f"{name}: {detail}" for name, ok, detail in check.checks if not ok))
        now = take_backup(env, current, "safety")
        lost = discarded(pre.id, now.id)
        if lost.rows and not args.get("yes"):
            raise OpsError(f"restoring {pre.id} would discard {lost.rows} rows written since: "
                           + lost.describe(),
                           hint="a downgrade keeps them (`jobnaut rollback migration`); to "
                                "restore anyway rerun with --yes (they stay in a backup)")
        return f"{pre.id} verifies; restoring it discards {lost.describe() or 'nothing'}"

    def restore_backup(run: Run) -> str:
        pre = restore_source(run)
        live_url = env.release_config(current)["DATABASE_URL"]
        ahead = _restored.get(run.operation_id)
        if ahead is not None and ahead.backup_id != pre.id:
            _restored.pop(run.operation_id).close()
            ahead = None
        # With writes stopped the live database holds what the safety backup holds: compared
        # with the copy restored ahead, no backup is restored inside the window to count it.
        lost = (discarded_by_restore(compare_databases(ahead.restored_url, live_url))
                if ahead is not None else discarded(pre.id, run.ctx["safety_backup"]))
        if lost.rows and not args.get("yes"):
            # Rows written between the report and the maintenance: still nothing without
            # the operator's consent.
            raise OpsError("rows were written since the report: " + lost.describe(),
                           hint="rerun with --yes to restore anyway (they stay in the "
                                "safety backup)")
        run.ctx["discarded"] = lost.as_json()
        run.ctx["db_changed"] = True
        run.save()
        if ahead is not None:
            _restored.pop(run.operation_id).swap_in()
            how = "swapped in the copy restored before the window"
        else:
            SideRestore.make(env, pre.id, live_url).swap_in()  # a resumed operation
            how = f"restored {pre.id}"
        return f"{how}; discarded {lost.describe() or 'nothing'} " \
               f"(kept in {run.ctx['safety_backup']}; `jobnaut backup diff {pre.id} " \
               f"{run.ctx['safety_backup']}` exports them)"

    def verify_integrity(run: Run) -> str:
        config = env.release_config(target)
        revision = release_env.database_revision_for(config)
        if revision != target.schema_revision:
            raise OpsError(f"schema is at {revision}, {target.name} expects "
                           f"{target.schema_revision}")
        problems = release_env.foreign_key_problems(config)
        if problems:
            raise OpsError("foreign keys broken: " + "; ".join(problems[:5]))
        if restore:
            return f"schema {revision}; foreign keys hold"
        touched = {e.table for s in steps for e in s.effects}
        before = run.ctx.get("counts_before", {})
        after = backups.table_counts(config["DATABASE_URL"])
        changed = [f"{t}: {before[t]} → {after.get(t)}" for t in before
                   if t not in touched and t != "alembic_version" and t in after
                   and after[t] != before[t]]
        if changed:
            raise OpsError("row counts changed in tables the downgrade does not touch: "
                           + "; ".join(changed))
        return f"schema {revision}; foreign keys hold; row counts of {len(before) - len(touched)}" \
               " untouched tables unchanged"

    def record(run: Run) -> str:
        if target.id == current.id:
            return f"database restored; {current.name} serves again"
        env.ledger.update_release(current.id, status="rolled_back")
        return f"{current.name} marked rolled_back; {target.name} active"

    restore_steps = [Step("restore database", "swap in the pre-deploy backup restored and "
                          "checked beside the live database before the window",
                          restore_backup)]
    downgrade_steps = [Step("downgrade", f"downgrade the schema to {target.schema_revision} "
                            f"with {source.name}'s scripts (PostgreSQL: one transaction each, "
                            "lock timeout)", downgrade)]
    report_steps = [Step("report", "verify the backup and report the rows a restore would "
                                   "discard (refused without --yes)", report)]
    return [
        Step("identify", f"what to revert from {db_revision} to "
                         f"{target.schema_revision}: {describe_plan(steps, restore, target)}",
             identify),
        Step("restore version", f"make sure {target.name}'s files (and the downgrade scripts' "
                                "release) are built before anything changes",
             lambda run: _ensure_builds(env, target, source)),
        *(report_steps if restore else []),
        Step("warm target", f"start {target.name}'s "
                            + ("frontend" if restore else "services")
                            + " out of traffic (or reuse the warm ones)"
                            + (" and restore the backup beside the live database" if restore
                               else "") + " before the maintenance window", warm_target),
        Step("maintenance", "stop the backend; the API answers 503 and the web app shows a "
                            "maintenance notice", maintenance),
        Step("safety backup", "back up the database as it is now, with no writes under way "
                              "(so this rollback can itself be undone)", safety_backup),
        *(restore_steps if restore else downgrade_steps),
        Step("verify integrity", "schema revision matches the target, foreign keys hold, row "
                                 "counts of untouched tables unchanged", verify_integrity),
        start, check,
        *switching.switch_steps(lambda run: target, stop_previous=True),
        Step("record", "record the outcome", record),
    ]


def _ensure_builds(env: Env, target: Release, source: Release) -> str:
    # Everything the procedure needs must exist before the first step that changes
    # anything: a pruned build found after the downgrade would leave the API in maintenance.
    notes = [release_env.ensure_built(env, target)]
    if source.ref != target.ref:
        notes.append(release_env.ensure_built(env, source))
    return "; ".join(notes)


def describe_plan(steps: list[migrations.DowngradeStep], restore: bool, target: Release) -> str:
    if restore:
        return f"restore the pre-deploy backup, then run {target.name}"
    parts = []
    for s in steps:
        effects = ", ".join(e.describe() for e in s.effects) or "no data lost"
        parts.append(f"{s.revision} ({s.doc}): {'downgrade works' if s.works else 'NO DOWNGRADE'}"
                     f"; {effects}")
    return " | ".join(parts) or "nothing to revert"


class SideRestore:
    """A backup restored into a new database (or file) beside the live one and checked;
    `swap_in` makes it the live one, so a failed restore leaves the live database untouched;
    `close` drops it. Made ahead of the maintenance window when it can be. Named after this
    process, so a crash leaves a copy that `--resume` and `abandon` remove
    (`remove_orphaned_scratch`)."""

    def __init__(self, stack: contextlib.ExitStack, backup_id: str, live_url: str,
                 restored_url: str):
        self.stack, self.backup_id = stack, backup_id
        self.live_url, self.restored_url = live_url, restored_url

    @classmethod
    def make(cls, env: Env, backup_id: str, live_url: str) -> SideRestore:
        stack = contextlib.ExitStack()
        try:
            restored_url = stack.enter_context(backups.scratch_target(live_url))
            backups.restore_into(env.home, backup_id, restored_url)
        except BaseException:
            stack.close()
            raise
        return cls(stack, backup_id, live_url, restored_url)

    def swap_in(self) -> None:
        try:
            backups.replace_database(self.live_url, self.restored_url)
        finally:
            self.close()

    def close(self) -> None:
        self.stack.close()


# Downgrades prepared and restores made before the maintenance window, by operation (a
# process, not state: an operation resumed after a crash runs them the plain way).
_prepared: dict[int, runner.Prepared] = {}
_restored: dict[int, SideRestore] = {}


def on_migration_rollback_failure(run: Run, error: Exception) -> None:
    env = run.env
    prepared = _prepared.pop(run.operation_id, None)
    if prepared is not None:
        prepared.cancel()
    restored = _restored.pop(run.operation_id, None)
    if restored is not None:
        restored.close()
    if run.ctx.get("switched"):
        return
    target_id = int(run.ctx["release_id"]) if "release_id" in run.ctx else None
    if not run.ctx.get("maintenance"):
        if target_id is not None:  # started before the window: nothing else changed
            switching.stop_candidates(env, target_id)
        return
    current = env.ledger.release(int(run.ctx["from_release"]))
    revision = release_env.database_revision(env, current)
    if not run.ctx.get("db_changed") and revision == current.schema_revision:
        # Nothing was changed in the database: bring the current release's backend back
        # (still running when it was the target: a database ahead of its code).
        runs = driver_for(env.home)
        running = [p for p in env.ledger.running_processes() if p.service == "backend"
                   and p.release_id == current.id and runs.alive(p)]
        if running:
            proc = running[0]
            env.ledger.set_process_role(proc.id, "live")
        else:
            proc = runs.start_service(env.home, env.ledger, release=current, service="backend",
                                      env=release_env.service_env(env, current, "backend"),
                                      role="live")
            proc = runs.wait_healthy(proc, env.home.config.start_timeout)
        traffic.route(env.home, "backend", proc.port)
        if target_id is not None and target_id != current.id:
            switching.stop_candidates(env, target_id)
        run.event(f"schema unchanged at {revision}; {current.name}'s backend serves again",
                  "warning")
    else:
        target = env.ledger.release(int(run.ctx["release_id"]))
        run.event(f"the database is at {revision}; the backend stays in maintenance — bring "
                  f"{target.name} up with `jobnaut rollback code --to {target.name} --yes` "
                  f"once the schema matches it ({target.schema_revision})", "error")


MIGRATION_ROLLBACK = Procedure("rollback-migration", plan_migration_rollback,
                               on_migration_rollback_failure)
