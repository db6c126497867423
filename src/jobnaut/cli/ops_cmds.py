"""The control-plane commands: init, up, down, deploy, releases, status, rollback, health,
logs. Each parses, calls one action in jobnaut.ops, and renders its result."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import typer
from rich.markup import escape

from jobnaut.cli.output import ask_yes_no, console, err_console, fail, print_json
from jobnaut.cli.tables import Column, print_table
from jobnaut.ops.canary import state as canary_state
from jobnaut.ops.context import Env, operator_name
from jobnaut.ops.environment import SERVICES, resolve_home

# The actions, and the database and HTTP libraries under them, are imported by the command
# that runs them, not at start, so that `jobnaut --help` answers at once (ADR 0015).
if TYPE_CHECKING:
    from jobnaut.ops.operation import OperationResult, Procedure, Reporter, Step


class State:
    home_option: str | None = None
    debug: bool = False


STATE = State()


def home_root() -> Path:
    return resolve_home(STATE.home_option)


def open_env() -> Env:
    return Env.open(home_root())


@contextmanager
def locked(env: Env, kind: str) -> Iterator[None]:
    """Commands that change state outside an operation still take the environment's lock."""
    from jobnaut.ops import lock

    with lock.operation_lock(env.home.lock_path, {"kind": kind, "operation": "-"}):
        yield


def _reporter(as_json: bool) -> Reporter:
    started: dict[int, float] = {}

    def report(position: int, step: Step, status: str, detail: str | None) -> None:
        if as_json:
            return
        if status == "running":
            started[position] = time.monotonic()
            err_console.print(f"[bold]{position:>2}. {step.name}[/] … ", end="")
            return
        took = max(0.0, time.monotonic() - started.get(position, time.monotonic()))
        colour = {"succeeded": "green", "failed": "red", "skipped": "yellow"}[status]
        prefix = "" if status != "skipped" else f"[bold]{position:>2}. {step.name}[/] "
        err_console.print(f"{prefix}[{colour}]{status}[/] ({took:.1f}s) {escape(detail or '')}")

    return report


class Preview(Protocol):
    def lines(self) -> list[str]: ...
    def as_json(self) -> dict[str, Any]: ...


def run_procedure(procedure: Procedure, args: dict[str, Any], *, dry_run: bool, resume: bool,
                  as_json: bool, follow: bool | None = False,
                  preview: Preview | None = None) -> OperationResult | None:
    """Run (or with `dry_run`, only plan) a procedure; a dry run says first what `preview`
    found would change."""
    from jobnaut.cli.monitoring import OperationMonitor
    from jobnaut.ops import monitor, operation

    env = open_env()
    args = {"actor": operator_name(), **args}  # every release and rollback says who
    if dry_run:
        steps = operation.plan_only(env, procedure, args)
        if as_json:
            print_json({"kind": procedure.kind, "dry_run": True,
                        **({"preview": preview.as_json()} if preview else {}),
                        "steps": [{"name": s.name, "description": s.description}
                                  for s in steps]})
        else:
            for line in preview.lines() if preview else []:
                console.print(escape(line))
            console.print(f"[bold]Plan for {procedure.kind}[/] (dry run: nothing changes)")
            for n, step in enumerate(steps, start=1):
                console.print(f"{n:>2}. [bold]{step.name}[/]: {escape(step.description)}")
        return None
    started, started_at = time.monotonic(), time.time()
    watcher = None if as_json else OperationMonitor(env)
    reporter = _reporter(as_json)
    try:
        if watcher is None:
            result = operation.execute(env, procedure, args, resume=resume, reporter=reporter)
        else:
            with watcher:
                result = operation.execute(env, procedure, args, resume=resume,
                                           reporter=watcher.wrap(reporter))
        elapsed = time.monotonic() - started
        _report_result(procedure, result, elapsed, as_json, started_at)
        if watcher is not None and result.ok and _following(follow):
            serving = monitor.serving(env)
            watcher.follow_bake(str(serving["backend"] or serving["frontend"]))
    finally:
        if watcher is not None:
            watcher.close()
    if not result.ok:
        fail(f"{procedure.kind} #{result.operation_id}: {result.error}", result.hint)
    return result


def _following(follow: bool | None) -> bool:
    """Follow the bake window after the operation: as asked, or by default at a terminal
    (a script gets its exit code at once)."""
    return err_console.is_terminal if follow is None else follow


FOLLOW_HELP = ("after it, show the figures for the guard's bake window (default: at a "
               "terminal); ends when the window passes or the guard rolls back")


def _report_result(procedure: Procedure, result: OperationResult, elapsed: float,
                   as_json: bool, started_at: float) -> None:
    # When users were served by the new release and when the checks confirmed it, counted
    # from the command's start: for a rollback, the figures the person on call needs.
    moments = {name: round(result.ctx[key] - started_at, 2)
               for name, key in (("serving_after", "serving_at"),
                                 ("verified_after", "verified_at")) if key in result.ctx}
    if as_json:
        print_json({**result.as_json(), "seconds": round(elapsed, 2), **moments})
    elif result.ok:
        release = result.ctx.get("release_id")
        if moments and release:
            console.print(f"serving v{release} after {moments.get('serving_after', '?')} s; "
                          f"verified after {moments.get('verified_after', '?')} s")
        console.print(f"[green]✓ {procedure.kind} succeeded[/] in {elapsed:.1f}s (operation "
                      f"#{result.operation_id}" + (f"; release v{release}" if release else "")
                      + ")")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("up")(up)
    app.command("down")(down)
    app.command("deploy")(deploy)
    app.command("releases")(releases)
    app.command("status")(status)
    app.command("health")(health)
    app.command("logs")(logs)
    app.command("abandon")(abandon)
    app.command("resume")(resume)
    app.add_typer(rollback_app, name="rollback")


def init(
    source: Path | None = typer.Option(None, help="git repository releases are built from "
                                                  "(default: this JobNaut checkout)"),
    database_url: str | None = typer.Option(None, help="default: SQLite in the home"),
    backend_port: int = typer.Option(8000, help="public port of the API"),
    frontend_port: int = typer.Option(8080, help="public port of the web app"),
    name: str = typer.Option("local", help="environment name (production, staging, …)"),
    environment: str = typer.Option("development", help="JOBNAUT_ENV of the services"),
    guard: bool = typer.Option(True, "--guard/--no-guard", help="run the guard beside the "
                                                                "switch ([guard] enabled)"),
    driver: str = typer.Option("process", help="how releases run: process (local processes), "
                                               "compose (Docker Compose, ADR 0008) or swarm "
                                               "(Docker Swarm, ADR 0012)"),
    base_image: str | None = typer.Option(None, help="compose: the image releases are built "
                                                     "on (default: an official Python image)"),
    database_service: bool = typer.Option(False, help="compose: PostgreSQL in a db container "
                                                      "JobNaut manages, data on a volume"),
    db_image: str | None = typer.Option(None, help="compose: the db service's image (default: "
                                                   "the official postgres:15)"),
    manager: str | None = typer.Option(None, help="swarm: the manager's engine, unix:///… or "
                                                  "tcp://… (ADR 0012)"),
    node: list[str] = typer.Option([], help="swarm: a node's engine, where release images "
                                            "are loaded (repeat; default: the manager)"),
    edge: str | None = typer.Option(None, help="swarm: the switch's address on the cluster "
                                               "network (services reach the API there)"),
) -> None:
    """Create an environment: home directory, jobnaut.toml, ledger and first configuration."""
    from jobnaut.ops.actions import lifecycle

    env = lifecycle.init(home_root(), source=source, database_url=database_url,
                         backend_port=backend_port, frontend_port=frontend_port,
                         name=name, environment=environment, guard=guard, driver=driver,
                         base_image=base_image, database_service=database_service,
                         db_image=db_image,
                         swarm=lifecycle.SwarmInit(manager, tuple(node), edge) if manager
                         else None)
    console.print(f"[green]✓[/] environment [bold]{name}[/] created in {env.home.root}")
    console.print(f"  settings: {env.home.root / 'jobnaut.toml'}; next: `jobnaut up` (first "
                  "deploy of the source's HEAD, with demo data) or `jobnaut deploy REF`")


def up(
    demo_data: bool = typer.Option(True, help="load demo jobs into an empty database"),
) -> None:
    """Start the environment (init and first deploy of the source's HEAD on a new home)."""
    from jobnaut.ops.actions import lifecycle
    from jobnaut.ops.actions.deploy import DEPLOY

    root = home_root()
    if not (root / "jobnaut.toml").exists():
        lifecycle.init(root)
        console.print(f"[green]✓[/] created environment in {root}")
    env = open_env()
    if env.ledger.active_release() is None:
        run_procedure(DEPLOY, {"ref": "HEAD", "reason": "first deploy by `jobnaut up`",
                               "demo_data": demo_data}, dry_run=False, resume=False,
                      as_json=False)
    with locked(env, "up"):  # after a first deploy: starts what it does not (the guard)
        lifecycle.up(env)
    state = lifecycle.status(env)
    console.print(f"[green]✓ JobNaut is up[/] ({state['active_release']})")
    console.print(f"  web app: [bold]{state['urls']['frontend']}[/]")
    console.print(f"  API:     {state['urls']['backend']}  (docs at /docs)")


def down() -> None:
    """Stop the environment's services and its traffic switch."""
    from jobnaut.ops.actions import lifecycle

    env = open_env()
    with locked(env, "down"):
        console.print(lifecycle.down(env))


def deploy(
    ref: str = typer.Argument("HEAD", help="branch, tag or commit of the source repository"),
    reason: str = typer.Option("", "--reason", "-m", help="why (recorded in the ledger)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the plan; change nothing"),
    resume: bool = typer.Option(False, "--resume", help="continue an interrupted deploy"),
    maintenance: bool = typer.Option(False, "--maintenance",
                                     help="allow migrations that contract the schema (drop, "
                                          "rename, tighten): the API answers 503 while they "
                                          "run"),
    as_json: bool = typer.Option(False, "--json"),
    follow: bool | None = typer.Option(None, "--follow/--no-follow", help=FOLLOW_HELP),
) -> None:
    """Build, record, migrate, start, check, switch, verify. A failing release never takes
    traffic; the previous one keeps serving. While it runs, the old and new release's
    figures are shown (when users send traffic). --dry-run says what would change: the
    commit, the commits since the active release, the migrations, the freeze and the backup."""
    from jobnaut.ops.actions.deploy import DEPLOY

    preview = None
    if dry_run and not resume:
        from jobnaut.ops.actions.deploy import requested_ref
        from jobnaut.ops.deploy_preview import preview_deploy

        preview = preview_deploy(open_env(), requested_ref({"ref": ref}))
    run_procedure(DEPLOY, {"ref": ref, "reason": reason or f"deploy {ref}",
                           "maintenance": maintenance},
                  dry_run=dry_run, resume=resume, as_json=as_json, follow=follow,
                  preview=preview)


def releases(as_json: bool = typer.Option(False, "--json")) -> None:
    """List releases and the rollbacks between them, newest first."""
    from jobnaut.ops import history

    env = open_env()
    items = history.release_list(env)
    if as_json:
        print_json(items)
        return
    entries = [(r["created_at"], _release_row(r)) for r in items]
    entries += [(rb["at"], _rollback_row(rb)) for rb in history.rollbacks(env)]
    print_table(console, RELEASE_COLUMNS, [row for _, row in sorted(entries, reverse=True)])


RELEASE_COLUMNS = [
    Column("id", identifier=True), Column("status"), Column("kind", drop_order=3),
    Column("ref", identifier=True, drop_order=2), Column("schema", drop_order=4),
    Column("rollback", drop_order=5), Column("when"), Column("by", drop_order=1),
    Column("why", folds=True),
]


def _release_row(r: dict[str, Any]) -> list[str]:
    colour = {"active": "green", "failed": "red", "rolled_back": "yellow"}.get(r["status"], "")
    return [r["id"], f"[{colour}]{r['status']}[/]" if colour else r["status"], r["kind"],
            r["ref"][:12], r["schema_revision"] or "", _readiness_mark(r["rollback_ready"]),
            _when(r["created_at"]), escape(r["actor"]), escape(r["reason"])]


def _rollback_row(rb: dict[str, Any]) -> list[str]:
    kind = rb["kind"].removeprefix("rollback-")
    why = f"Rollback {rb['from']} → {rb['to']}" + (f": {rb['reason']}" if rb["reason"] else "")
    return ["", "[yellow]rollback[/]", kind, "", "", "", _when(rb["at"]), escape(rb["by"]),
            escape(why)]


def _when(timestamp: str) -> str:
    return timestamp[:16].replace("T", " ")


def _readiness_mark(verdict: dict[str, Any] | None) -> str:
    if verdict is None:
        return "-"
    return "[green]ready[/]" if verdict["ready"] else "[red]NOT READY[/]"


def status(as_json: bool = typer.Option(False, "--json")) -> None:
    """Active release; what serves each service (from the traffic switch's routes), its
    pid, port and health; the switch; the last operation. Exit 1 when users are not
    served: the switch down, a route to nowhere, a dead or unready live process."""
    from jobnaut.ops.actions import lifecycle

    state = lifecycle.status(open_env())
    if as_json:
        print_json(state)
    else:
        _print_status(state)
    if state["problems"]:
        raise typer.Exit(1)


def _print_status(state: dict[str, Any]) -> None:
    from rich.table import Table

    console.print(f"environment [bold]{state['environment']}[/] — active release "
                  f"[bold]{state['active_release'] or 'none'}[/]")
    table = Table("service", "release", "pid", "port", "public", "alive", "healthy")
    for service in SERVICES:
        s = state["services"][service]
        table.add_row(service, s["release"] or "-", str(s["pid"] or "-"), str(s["port"] or "-"),
                      str(s["public_port"]), _yes_no(s["alive"]), _yes_no(s["healthy"]))
    for s in state["services"].get("standby", []):
        table.add_row(f"{s['service']} ({s['role']})", s["release"], str(s["pid"]),
                      str(s["port"]), "-", "yes", "yes" if s["healthy"] else "no")
    console.print(table)
    kept = {s["release"]: s["label"] for s in state["services"].get("standby", [])
            if s.get("warm_until")}
    for release, label in kept.items():  # a rolled-back release kept warm (ADR 0018)
        console.print(f"{release} {label}")
    switch = state["traffic_switch"]
    console.print("traffic switch: " + (f"[green]running[/] (pid {switch['pid']})"
                                        if switch["running"] and switch["answering"]
                                        else "[red]down[/]"))
    _print_guard(state["guard"])
    if state.get("canary"):
        console.print(f"[yellow]{escape(canary_state.text(state['canary']) or '')}[/]")
    for problem in state["problems"]:
        console.print(f"[red]problem:[/] {escape(problem)}")
    if state["deploy_freeze"]:
        console.print(f"[red]deploys frozen:[/] {state['deploy_freeze']}")
    for incident in state["incidents"]:
        ack = "" if incident["acknowledged"] else " — not acknowledged"
        console.print(f"[red]{incident['kind']} #{incident['id']}[/] {incident['state']} "
                      f"({incident['impact']}): {escape(incident['title'])}{ack}")
    for channel in state["failing_channels"]:
        console.print(f"[yellow]notification channel failing:[/] {escape(channel)}")
    if state["running_operation"]:
        op = state["running_operation"]
        console.print(f"[yellow]running:[/] {op.get('kind')} #{op.get('operation')} "
                      f"(pid {op.get('pid')})")
    if state["interrupted"]:
        _print_interrupted(state["interrupted"])
    elif state["last_operation"]:
        op = state["last_operation"]
        console.print(f"last operation: {op['kind']} #{op['id']} {op['status']}"
                      + (f" — {escape(op['error'])}" if op["error"] else ""))


def _print_guard(guard: dict[str, Any]) -> None:
    if not guard["enabled"]:
        console.print("guard: disabled ([guard] enabled = false)")
        return
    if not guard["running"]:
        console.print("guard: [red]not running[/] (`jobnaut up` starts it)")
        return
    watching = guard.get("watching") or {}
    phase = watching.get("phase")
    doing = (f"baking {watching['release']} ({watching['bake_left']:.0f} s left)"
             if phase == "bake" else f"watching {watching['release']}" if watching else "idle")
    console.print(f"guard: [green]running[/] (pid {guard['pid']}), {doing}")
    restarts = {s: n for s, n in (guard.get("restarts") or {}).items() if n}
    if restarts:
        console.print("  restarts: " + ", ".join(f"{s} {n}" for s, n in restarts.items()))
    open_alerts = guard.get("open_alerts") or []
    for alert in open_alerts:
        console.print(f"  [bold red]ALERT OPEN:[/] {escape(alert)}")
    for alert in guard.get("alerts") or []:
        if alert not in open_alerts:
            console.print(f"  [dim]earlier alert:[/] {escape(alert)}")
    if guard.get("metrics_url"):
        console.print(f"  figures: {guard['metrics_url']} (Prometheus)")


def _yes_no(value: bool) -> str:
    return "[green]yes[/]" if value else "[red]no[/]"


def _print_interrupted(interrupted: dict[str, Any]) -> None:
    done = [s["name"] for s in interrupted["steps"] if s["status"] == "succeeded"]
    stuck = next((s["name"] for s in interrupted["steps"] if s["status"] != "succeeded"),
                 "before its first step")
    console.print(f"[red]interrupted:[/] {interrupted['kind']} #{interrupted['id']} stopped "
                  f"at '{stuck}' (done: {', '.join(done) or 'nothing'}).")
    for child in interrupted.get("survivors", []):
        console.print(f"  [red]still running:[/] pid {child['pid']}: {escape(child['command'])}"
                      " (killed by `jobnaut resume` or `jobnaut abandon`)")
    console.print("  continue it with `jobnaut resume`, or give it up with `jobnaut abandon` "
                  "(it stops what the operation started) and then roll back")


def health(as_json: bool = typer.Option(False, "--json")) -> None:
    """The traffic switch and each live process, then the plan's Appendix C checklist
    through the public ports, then the guard's open alerts; exit 1 if a critical check
    fails or an alert is open."""
    from rich.table import Table

    from jobnaut.ops import checks, serving
    from jobnaut.ops.actions import lifecycle
    from jobnaut.ops.guard import process as guard

    env = open_env()
    lifecycle.reconcile(env)
    results = serving.as_checks(serving.inspect(env))
    results += checks.appendix_c(env.home, env.config_of(env.current_config_id()))
    results += guard.health_checks(env.home)
    if as_json:
        print_json({"ok": not checks.failures(results),
                    "checks": [r.as_json() for r in results]})
    else:
        table = Table("", "check", "latency", "detail")
        for r in results:
            mark = "[green]✓[/]" if r.ok else ("[red]✗[/]" if r.critical else "[yellow]![/]")
            table.add_row(mark, r.name, f"{r.latency_ms:.0f} ms", escape(r.detail))
        console.print(table)
    if checks.failures(results):
        raise typer.Exit(1)


def logs(
    service: str = typer.Argument("backend", help="backend or frontend; switch (the traffic "
                                                  "switch's own log) or access (every request "
                                                  "through it, with the release that answered)"),
    lines: int = typer.Option(100, "--lines", "-n"),
    release: str | None = typer.Option(None, help="a release's log (default: the live one)"),
    follow: bool = typer.Option(False, "--follow", "-f", help="keep printing new lines as "
                                                              "they are written (Ctrl-C ends)"),
    since: str | None = typer.Option(None, help="only lines written since: ISO time, or "
                                                "back from now: 30m, 2h, 7d"),
) -> None:
    """Show a service's log."""
    env = open_env()
    if service in ("switch", "access"):
        from jobnaut.ops.drivers import traffic

        layout = traffic.traffic_switch(env.home).layout
        path = layout.server_log if service == "switch" else layout.access_log
    else:
        if service not in SERVICES:
            fail(f"unknown service {service!r}", code=2)
        if release:
            number = env.find_release(release).id
        else:
            live = [p for p in env.ledger.running_processes()
                    if p.service == service and p.role == "live"]
            active = env.ledger.active_release()
            number = live[0].release_id if live else (active.id if active else 0)
        from jobnaut.ops.drivers import driver_for

        path = driver_for(env.home).log_file(env.home, number, service)
    if not path.exists():
        fail(f"no log at {path}")
    _print_log(path, lines, follow, since)


def _print_log(path: Path, lines: int, follow: bool, since: str | None) -> None:
    from jobnaut.ops import logread
    from jobnaut.ops.comms.timeline import parse_since

    with path.open("rb") as handle:  # what is read now, and where following starts
        text = handle.read().decode(errors="replace").splitlines()
        end = handle.tell()
    shown = list(logread.since(text, parse_since(since))) if since else \
        text[max(0, len(text) - lines):]
    for line in shown:
        typer.echo(line)
    if follow:
        try:
            for line in logread.follow(path, start=end):
                typer.echo(line)
        except KeyboardInterrupt:
            pass


def resume(as_json: bool = typer.Option(False, "--json")) -> None:
    """Continue the interrupted operation, whatever it was, from its first unfinished
    step (the same as its own command with --resume)."""
    from jobnaut.ops import operation
    from jobnaut.ops.actions.database import MIGRATION_ROLLBACK
    from jobnaut.ops.actions.deploy import DEPLOY
    from jobnaut.ops.actions.emergency import EMERGENCY
    from jobnaut.ops.actions.rollback import CODE_ROLLBACK, CONFIG_RELEASE

    env = open_env()
    stranded = operation.interrupted_operation(env)
    if stranded is None:
        fail("there is no interrupted operation to resume", "`jobnaut status` shows the last "
             "operation", code=2)
    procedures = {p.kind: p for p in (DEPLOY, CODE_ROLLBACK, CONFIG_RELEASE, MIGRATION_ROLLBACK,
                                      EMERGENCY)}
    procedure = procedures.get(stranded.kind)
    if procedure is None:
        fail(f"{stranded.kind} #{stranded.id} cannot be resumed", "`jobnaut abandon` gives it up",
             code=2)
    run_procedure(procedure, {}, dry_run=False, resume=True, as_json=as_json)


def abandon() -> None:
    """Give up an interrupted operation (look at `jobnaut status` first), so that others
    may run; its completed steps stay recorded."""
    from jobnaut.ops import operation

    env = open_env()
    seen = max((e["id"] for e in env.ledger.events(1)), default=0)
    stranded = operation.abandon(env)
    console.print(f"{stranded.kind} #{stranded.id} abandoned; check `jobnaut status` and "
                  "`jobnaut health` before going on")
    for event in env.ledger.events(50):  # what was cleared: survivors, candidates, copies
        if event["id"] > seen and event["operation_id"] == stranded.id:
            console.print(f"  {escape(event['message'])}")


rollback_app = typer.Typer(help="Roll back code, migrations or configuration.",
                           no_args_is_help=True)


class Service(StrEnum):
    """The services an option may name (its help lists them; anything else is refused)."""
    backend = "backend"
    frontend = "frontend"


@rollback_app.command("code")
def rollback_code(
    to: str | None = typer.Option(None, "--to", help="release to go back to (default: the "
                                                     "previous good one)"),
    service: Service | None = typer.Option(None, "--service",
                                           help="only this service (default: both)"),
    reason: str = typer.Option("", "--reason", "-m"),
    dry_run: bool = typer.Option(False, "--dry-run"),
    yes: bool = typer.Option(False, "--yes", help="do not ask for confirmation"),
    resume: bool = typer.Option(False, "--resume"),
    as_json: bool = typer.Option(False, "--json"),
    follow: bool | None = typer.Option(None, "--follow/--no-follow", help=FOLLOW_HELP),
) -> None:
    """Plan scenario 1: identify, stop the faulty release, restore and re-deploy the previous
    one with the same checks, verify, record."""
    from jobnaut.ops.actions.rollback import CODE_ROLLBACK

    args = {"to": to, "services": [service.value] if service else list(SERVICES),
            "reason": reason or "operator request"}
    if not (dry_run or yes or resume):
        _confirm(CODE_ROLLBACK, args)
    run_procedure(CODE_ROLLBACK, args, dry_run=dry_run, resume=resume, as_json=as_json,
                  follow=follow)


@rollback_app.command("config")
def rollback_config(
    to: str | None = typer.Option(None, "--to", help="release whose configuration to restore"),
    dry_run: bool = typer.Option(False, "--dry-run"),
    yes: bool = typer.Option(False, "--yes"),
    resume: bool = typer.Option(False, "--resume"),
    reason: str = typer.Option("", "--reason", "-m"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Plan scenario 3: restore a previous configuration snapshot, restart, verify."""
    from jobnaut.ops.actions import configuration
    from jobnaut.ops.actions.rollback import CONFIG_RELEASE

    env = open_env()
    if resume:
        run_procedure(CONFIG_RELEASE, {}, dry_run=False, resume=True, as_json=as_json)
        return
    config_id, restored = configuration.rollback_target_config(env, to)
    args = {"config_id": config_id, "rollback": True,
            "reason": f"{reason}: {restored}" if reason else restored}
    if not (dry_run or yes):
        _confirm(CONFIG_RELEASE, args)
    run_procedure(CONFIG_RELEASE, args, dry_run=dry_run, resume=False, as_json=as_json)


def _confirm(procedure: Procedure, args: dict[str, Any]) -> None:
    """The one rule for asking: at a terminal, a rollback shows its plan and asks, unless
    --yes, --dry-run or --resume was given. --json does not skip the question (a person at a
    terminal still confirms); plan and question go to stderr so stdout stays pure JSON.
    Without a terminal (scripts, CI, the guard) nobody is asked, and the procedure's own
    guards still hold: whatever would destroy or discard data is refused unless --yes."""
    import sys

    from jobnaut.ops import operation

    if not sys.stdin.isatty():
        return
    env = open_env()
    steps = operation.plan_only(env, procedure, {**args, "dry_run": True})
    err_console.print(f"[bold]{procedure.kind}[/] will:")
    for n, step in enumerate(steps, start=1):
        err_console.print(f"{n:>2}. {escape(step.description)}")
    if not ask_yes_no("Go ahead?"):
        raise typer.Exit(1)
