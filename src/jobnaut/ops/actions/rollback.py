"""Plan scenario 1 (Application Code Issues) and 3 (Configuration Issues) as procedures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobnaut.ops import checks
from jobnaut.ops.actions import release_env, switching
from jobnaut.ops.actions.preflight import preflight_config
from jobnaut.ops.context import Env
from jobnaut.ops.environment import SERVICES
from jobnaut.ops.errors import OpsError
from jobnaut.ops.history import previous_good
from jobnaut.ops.ledger import Release
from jobnaut.ops.operation import Procedure, Run, Step


def plan_code_rollback(env: Env, args: dict[str, Any], ctx: dict[str, Any]) -> list[Step]:
    services = tuple(args.get("services") or SERVICES)
    current = (env.ledger.release(ctx["from_release"]) if "from_release" in ctx
               else env.require_active())
    target = (env.ledger.release(ctx["release_id"]) if "release_id" in ctx
              else env.find_release(args["to"]) if args.get("to")
              else previous_good(env, current))
    if target.id == current.id:
        raise OpsError(f"{target.name} is already the active release", exit_code=2)

    def identify(run: Run) -> str:
        run.ctx.update(from_release=current.id, release_id=target.id,
                       previous_active=current.id)
        notes = [f"current {current.name} ({current.ref[:12]})"]
        for p in switching.live_processes(env):
            errors = checks.log_errors(Path(p.log))
            notes.append(f"{p.service}: {len(errors)} recent errors"
                         + (f", last: {errors[-1][:120]}" if errors else ""))
        run.event(f"rolling back code from {current.name} to {target.name}: "
                  + args.get("reason", "operator request"), "warning")
        return "; ".join(notes)

    def check_target(run: Run) -> str:
        db_revision = release_env.database_revision(env, current)
        if target.schema_revision != db_revision:
            raise OpsError(
                f"{target.name} expects schema {target.schema_revision}, the database is at "
                f"{db_revision}: running it would put old code on a newer schema",
                hint=f"roll the schema back first: `jobnaut rollback migration --to "
                     f"{target.name}`",
            )
        return f"{target.name} expects schema {db_revision}, as the database has"

    def restore_files(run: Run) -> str:
        return release_env.ensure_built(env, target)

    return [
        Step("identify", "the current release, its health and its recent errors", identify),
        Step("check target", f"check that {target.name} exists and expects the database's "
                             "schema revision", check_target),
        Step("restore version", f"restore {target.name}'s files (rebuild from its commit if "
                                "they were pruned)", restore_files),
        Step("restore database", "restore the database if needed (not for a code rollback on "
                                 "the same schema)", lambda run: "not needed: schema unchanged"),
        *switching.start_and_check_steps(lambda run: target, services, quick_when_warm=True),
        # The release left stays warm a while (ADR 0018): going forward again is a switch.
        *switching.switch_steps(lambda run: target, services, stop_previous=True,
                                verify_first=True, rolled_back_warm=True),
        Step("record", "record the outcome", lambda run: _mark_rolled_back(run, current, target,
                                                                           services)),
    ]


def _mark_rolled_back(run: Run, current: Release, target: Release,
                      services: tuple[str, ...]) -> str:
    if set(services) == set(SERVICES):
        run.env.ledger.update_release(current.id, status="rolled_back")
        return f"{current.name} marked rolled_back; {target.name} active"
    return f"{', '.join(services)} on {target.name}; active release stays {current.name}"


def on_code_rollback_failure(run: Run, error: Exception) -> None:
    if not run.ctx.get("switched"):
        # The faulty release still serves; stop only what this attempt started.
        if "release_id" in run.ctx:
            switching.stop_candidates(run.env, int(run.ctx["release_id"]))
        return
    run.event("rollback failed after the switch; see `jobnaut status`", "error")


CODE_ROLLBACK = Procedure("rollback-code", plan_code_rollback, on_code_rollback_failure)


# Scenario 3: configuration ----------------------------------------------------------------

def plan_config_release(env: Env, args: dict[str, Any], ctx: dict[str, Any]) -> list[Step]:
    """A configuration change or rollback: a new release with the active code and the new
    configuration, put in front of users with the same checks as a deploy."""
    current = (env.ledger.release(ctx["from_release"]) if "from_release" in ctx
               else env.require_active())

    def release_of(run: Run) -> Release:
        return run.env.ledger.release(int(run.ctx["release_id"]))

    def prepare(run: Run) -> str:
        config_id = int(args["config_id"])
        detail = preflight_config(env, config_id)
        ensure_keys_kept(env, env.config_of(config_id))
        if "release_id" not in run.ctx:
            release = env.ledger.add_release(
                ref=current.ref, requested_ref=current.requested_ref, kind="config",
                config_id=config_id, schema_revision=current.schema_revision,
                reason=args["reason"], actor=args.get("actor", "operator"),
                operation_id=run.operation_id)
            run.ctx.update(release_id=release.id, from_release=current.id,
                           previous_active=current.id)
        return f"v{run.ctx['release_id']}: code of {current.name}, {args['reason']}; {detail}"

    return [
        Step("prepare", "check the new configuration (checklist, encryption keys still read "
                        "stored data) and record the release", prepare),
        Step("restore version", "make sure the active code's files are built",
             lambda run: release_env.ensure_built(env, release_of(run))),
        *switching.start_and_check_steps(release_of),
        *switching.switch_steps(release_of),
        *([Step("record", f"mark {current.name} rolled back: it is never a default rollback "
                          "target again", lambda run: _mark_config_rolled_back(run, current))]
          if args.get("rollback") else []),
    ]


def _mark_config_rolled_back(run: Run, current: Release) -> str:
    run.env.ledger.update_release(current.id, status="rolled_back")
    return f"{current.name} marked rolled_back; v{run.ctx['release_id']} active"


def on_config_failure(run: Run, error: Exception) -> None:
    if "release_id" in run.ctx:
        switching.abandon_candidate(run, run.env.ledger.release(int(run.ctx["release_id"])))


CONFIG_RELEASE = Procedure("config", plan_config_release, on_config_failure)


def ensure_keys_kept(env: Env, new_config: dict[str, str]) -> None:
    """Refuse a configuration whose ENCRYPTION_KEY cannot read data already stored."""
    from jobnaut.ops import datacheck

    unreadable = datacheck.unreadable_rows(new_config)
    if unreadable:
        raise OpsError(
            f"the new ENCRYPTION_KEY cannot decrypt {unreadable} stored values: applying it "
            "would make users' data unreadable",
            hint="keep the old key after the new one (ENCRYPTION_KEY=new,old) to rotate",
        )
