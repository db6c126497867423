"""`jobnaut deploy`: build, record, back up, migrate, start, check, switch, verify.

A release that fails anywhere never takes traffic (or gives it back at once), is marked
failed, and the previous release keeps serving — with no command from the operator.
"""

from __future__ import annotations

import getpass
from typing import Any

from jobnaut.ops import build, commit_schema
from jobnaut.ops.actions import release_env, switching
from jobnaut.ops.actions.backup_step import take_backup
from jobnaut.ops.actions.canary import canary_step
from jobnaut.ops.actions.preflight import preflight_config
from jobnaut.ops.comms import hooks
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import driver_for, traffic
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import Release
from jobnaut.ops.operation import Procedure, Run, Step


def _release(run: Run) -> Release:
    return run.env.ledger.release(int(run.ctx["release_id"]))


def requested_ref(args: dict[str, Any]) -> str:
    """The ref to deploy. A blank one is refused rather than read as HEAD: an empty variable
    in a script must not deploy whatever the source's HEAD happens to be."""
    ref = args.get("ref", "HEAD")
    if not isinstance(ref, str) or not ref.strip():
        raise OpsError("no ref given", hint="name a branch, tag or commit: `jobnaut deploy "
                                            "main`", exit_code=2)
    if ref.startswith("-") or any(c.isspace() or not c.isprintable() for c in ref):
        raise OpsError(f"{ref!r} is not a git ref (no spaces, no leading '-')",
                       hint="name a branch, tag or commit of the source repository",
                       exit_code=2)
    return ref


def preflight_schema(env: Env, ref: str, commit: str, config_id: int) -> str:
    """Refuse a commit whose migrations do not know the database's revision: the database is
    ahead of it (a newer release migrated it), so its code cannot run there and it has no
    scripts to bring the schema back. Checked from git, before anything is built."""
    known = commit_schema.schema_of_commit(env.home.config.source, commit)
    if known is None:
        return "schema checked after the build"
    try:
        current = release_env.database_revision_for(env.config_of(config_id))
    except Exception:  # unreachable now: the backup and migrate steps report it themselves
        return "database revision unreadable; schema checked at migrate"
    if current is None or current in known.revisions:
        return f"expects schema {known.head}, database at {current or 'empty'}"
    raise OpsError(
        f"{ref} ({commit[:12]}) expects schema {known.head}, but the database is at "
        f"{current}, a newer revision its migrations do not know: its code cannot run on "
        "that schema, and it has no scripts to bring it back",
        hint=_schema_behind_hint(env, known, current), exit_code=2)


def _schema_behind_hint(env: Env, known: commit_schema.CommitSchema, current: str) -> str:
    """Name the releases to use: one whose schema is the commit's (to roll the schema back
    to), and an earlier one that runs on the database's schema (for older code now)."""
    active = env.ledger.active_release()
    usable = [r for r in reversed(env.ledger.releases()) if r.status != "failed"]
    older = next((r for r in usable if r.schema_revision in known.heads), None)
    matching = next((r for r in usable if r.schema_revision == current
                     and (active is None or r.id != active.id)), None)
    migration = f"`jobnaut rollback migration --to {older.name}`" if older else \
        "`jobnaut rollback migration --to vN` (a release that expects it)"
    code = f"`jobnaut rollback code --to {matching.name}`" if matching else \
        "`jobnaut rollback code --to vN` (an earlier release that expects it)"
    return (f"to run this code, first roll the schema back to {known.head} with {migration}, "
            f"then deploy again; for older code on schema {current}: {code}")


def plan_deploy(env: Env, args: dict[str, Any], ctx: dict[str, Any]) -> list[Step]:
    ref = requested_ref(args)
    # Checked while planning, before the operation is recorded: a deploy that cannot work
    # is a plain refusal that leaves nothing behind. A resumed deploy was checked already.
    schema_note = "" if ctx else _plan_time_checks(env, args, ref)

    def preflight(run: Run) -> str:
        commit = build.resolve_ref(env.home.config.source, ref)
        traffic.ensure_switch(env.home)  # a public port taken by another program fails here
        config_id = int(args["config_id"]) if args.get("config_id") else env.current_config_id()
        detail = preflight_config(env, config_id)
        driver_for(env.home).ensure_database(env.home, env.config_of(config_id)["DATABASE_URL"])
        active = env.ledger.active_release()
        run.ctx.update(commit=commit, config_id=config_id,
                       previous_active=active.id if active else None)
        return f"{ref} is {commit[:12]}; {detail}" + (f"; {schema_note}" if schema_note else "")

    def build_step(run: Run) -> str:
        commit = run.ctx["commit"]
        build_dir = env.home.build_dir(commit)
        made = driver_for(env.home).prepare(env.home, commit)  # files, and an image
        run.ctx["schema_revision"] = build.expected_schema(build_dir)
        return f"{made}; expects schema {run.ctx['schema_revision']}"

    def compatibility(run: Run) -> str:
        return _check_compatibility(run, args)

    def record(run: Run) -> str:
        if "release_id" not in run.ctx:
            release = env.ledger.add_release(
                ref=run.ctx["commit"], requested_ref=ref, kind=args.get("kind", "code"),
                config_id=run.ctx["config_id"], schema_revision=run.ctx["schema_revision"],
                reason=args.get("reason") or f"deploy {ref}", actor=_actor(),
                operation_id=run.operation_id,
            )
            run.ctx["release_id"] = release.id
        return f"release v{run.ctx['release_id']}"

    def backup(run: Run) -> str:

        release = _release(run)
        if release.backup_id:
            return f"backup {release.backup_id} already taken"
        manifest = take_backup(env, release, "pre-deploy")
        env.ledger.update_release(release.id, backup_id=manifest.id)
        return f"{manifest.id} ({manifest.size} bytes, {sum(manifest.tables.values())} rows)"

    def migrate(run: Run) -> str:
        release = _release(run)
        current = release_env.database_revision(env, release)
        # Kept from the first attempt: a resumed deploy must remember where the schema was
        # before this release touched it, not where the interrupted attempt left it.
        before = run.ctx.setdefault("schema_before", current)
        if current == release.schema_revision and not args.get("demo_data"):
            return f"schema already at {current}"
        if run.ctx.get("contractions") and run.ctx.get("previous_active"):
            _enter_maintenance(run)
        run.ctx["migrated"] = True
        run.save()
        demo = ["--demo-data"] if args.get("demo_data") else []
        release_env.run_schema(env, release, "up", *demo)
        return f"schema {before or 'empty'} → {release.schema_revision}"

    return [
        Step("preflight", f"check that {ref} exists, its migrations know the database's schema, "
                          "the configuration checklist passes and no other operation runs",
             preflight),
        Step("build", "build the release from the commit (git archive + its own virtualenv)",
             build_step),
        Step("compatibility", "classify the pending migrations: backward-compatible ones run "
                              "while the previous release serves, others only in a maintenance "
                              "window (--maintenance)", compatibility),
        Step("record", "record the release in the ledger", record),
        Step("backup", "back up the database before anything changes it (recorded on the "
                       "release)", backup),
        Step("migrate", "upgrade the database schema with the new release's migrations",
             migrate),
        Step("previous on new schema", "check that the release still serving works on the "
                                       "upgraded schema", _check_previous_on_new_schema),
        *switching.start_and_check_steps(_release),
        *([canary_step(_release)] if env.home.config.deploy.canary else []),
        *switching.switch_steps(_release),
        Step("rollback readiness", "prove the release can be rolled back: its backup "
                                   "verifies; its migrations survive down and up on a scratch "
                                   "copy", _readiness),
        Step("prune", "remove built files of old releases beyond keep_releases", _prune),
    ]


def _check_compatibility(run: Run, args: dict[str, Any]) -> str:
    from jobnaut.ops import compat

    env = run.env
    if not run.ctx.get("previous_active"):
        return "first deploy: no release serves during the migration"
    build_dir = env.home.build_dir(run.ctx["commit"])
    config = env.config_of(int(run.ctx["config_id"]))
    at = release_env.database_revision_for(config)
    if at is not None and at == run.ctx.get("schema_revision"):
        # The build's cached expectation: no need to start its code to list nothing.
        return "no pending migrations"
    revisions, found = compat.pending_contractions(
        build_dir, {**config, "JOBNAUT_RELEASE": "pending"}, at)
    if not revisions:
        return "no pending migrations"
    if not found:
        return f"{', '.join(revisions)} only expand the schema: the previous release keeps " \
               "serving while they run"
    described = "; ".join(c.describe() for c in found[:5])
    if not args.get("maintenance"):
        raise OpsError(
            f"{', '.join(revisions)} contract the schema, which the release serving now "
            f"cannot live with: {described}",
            hint="split it (expand now, contract in a later release), or deploy with "
                 "--maintenance: the API answers 503 while it migrates (ADR 0004)")
    run.ctx["contractions"] = [c.describe() for c in found]
    return f"contracting changes ({described}): the API goes into maintenance while they run"


def _enter_maintenance(run: Run) -> None:
    """The API answers 503 until the new release is checked and switched: no request may
    reach old code on the contracted schema."""
    traffic.ensure_switch(run.env.home)
    traffic.route(run.env.home, "backend", None)
    run.ctx["maintenance"] = True
    run.save()
    run.event("API in maintenance while contracting migrations run", "warning")
    if "maintenance_incident" not in run.ctx:
        run.ctx["maintenance_incident"] = hooks.maintenance_started(
            run.env, run.operation_id, "We are upgrading JobNaut's database. JobNaut is "
            "unavailable for a few minutes; your data is safe.")


def _check_previous_on_new_schema(run: Run) -> str:
    from jobnaut.ops import checks

    env = run.env
    if not run.ctx.get("migrated") or not run.ctx.get("previous_active"):
        return "nothing to check: the schema did not change under a serving release"
    if run.ctx.get("maintenance"):
        return "the previous release is out of traffic (maintenance)"
    live = {s: switching.live_processes(env, s) for s in ("backend", "frontend")}
    if not live["backend"] or not live["frontend"]:
        return "no previous release is serving"
    runs = driver_for(env.home)
    results = checks.release_checks(env.home, runs.address(live["backend"][0]),
                                    runs.address(live["frontend"][0]),
                                    compatible_schema=_release(run).schema_revision)
    if checks.failures(results):
        raise OpsError("the release serving now fails on the upgraded schema: "
                       + checks.summary(results),
                       hint="this migration is not backward-compatible; deploy it with "
                            "--maintenance or split it (ADR 0004)")
    return f"v{run.ctx['previous_active']} on the new schema: {checks.summary(results)}"


def _plan_time_checks(env: Env, args: dict[str, Any], ref: str) -> str:
    commit = build.resolve_ref(env.home.config.source, ref)
    config_id = int(args["config_id"]) if args.get("config_id") else env.current_config_id()
    started = driver_for(env.home).ensure_database(env.home,
                                                   env.config_of(config_id)["DATABASE_URL"])
    return "; ".join(filter(None, [started, preflight_schema(env, ref, commit, config_id)]))


def _readiness(run: Run) -> str:
    from jobnaut.ops.actions.schema_ops import check_rollback_readiness

    # Reported, not fatal: the release already serves and passed its checks; a release that
    # cannot be rolled back safely is flagged in `releases` and `status`.
    try:
        verdict = check_rollback_readiness(run.env, _release(run))
    except Exception as exc:
        message = exc.message if isinstance(exc, OpsError) else f"{type(exc).__name__}: {exc}"
        verdict = {"ready": False, "problems": [message], "notes": []}
        run.env.ledger.set_rollback_verdict(int(run.ctx["release_id"]), verdict)
    if not verdict["ready"]:
        run.event("release cannot be rolled back safely: " + "; ".join(verdict["problems"]),
                  "warning")
        return "NOT READY: " + "; ".join(verdict["problems"])
    return "; ".join(verdict["notes"])


def _prune(run: Run) -> str:
    from jobnaut.ops.actions.lifecycle import prune_builds

    try:
        removed = prune_builds(run.env)
    except OSError as exc:  # a full disk must not undo a deploy that serves
        return f"pruning failed: {exc}"
    return f"removed {len(removed)} old builds" if removed else "nothing to prune"


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def on_deploy_failure(run: Run, error: Exception) -> None:
    if "release_id" not in run.ctx:
        return  # failed before anything changed
    release = _release(run)
    if run.ctx.get("maintenance"):
        # The previous release cannot live with the new schema: undo the schema first,
        # then give the traffic back.
        if run.ctx.get("switched"):
            traffic.route(run.env.home, "backend", None)
        _return_schema(run, release)
        switching.abandon_candidate(run, release)
    else:
        # Only expanded (checked with the previous release): traffic back first.
        switching.abandon_candidate(run, release)
        _return_schema(run, release)
    breach = run.ctx.get("canary_breach")
    if breach:
        # It took real traffic and failed it: rolled back, never a rollback target.
        run.env.ledger.update_release(release.id, status="rolled_back")
        run.event(f"canary: {release.name} rolled back at {breach['percent']} % of new "
                  f"sessions: {breach['evidence']}", "warning")
        return
    run.event(f"{release.name} marked failed; the previous release keeps serving", "warning")


def _return_schema(run: Run, release: Release) -> None:
    if run.ctx.get("migrated") and run.ctx.get("previous_active"):
        # Rule 2: downgrade with the newer code, whose scripts know how to undo its changes.
        target = run.ctx.get("schema_before") or "base"
        if run.ctx.get("switched"):
            # Users may have written through the new release: keep what it wrote first.

            manifest = take_backup(run.env, release, "safety")
            run.event(f"safety backup {manifest.id} before returning the schema", "warning")
        release_env.run_schema(run.env, release, "down", "--to", target)
        run.event(f"schema returned to {target} with {release.name}'s downgrade", "warning")


DEPLOY = Procedure("deploy", plan_deploy, on_deploy_failure)
