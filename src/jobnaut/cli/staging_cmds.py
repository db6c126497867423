"""`jobnaut staging create|refresh`: a staging copy of production (ADR 0010)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from jobnaut.cli import ops_cmds
from jobnaut.cli.output import console, fail, print_json
from jobnaut.ops.context import Env

if TYPE_CHECKING:
    from jobnaut.ops.staging import StagingCopy

app = typer.Typer(help="A staging environment copied from production, for drills.",
                  no_args_is_help=True)


@app.command("create")
def create(
    source: Path = typer.Option(..., "--from", help="the production environment's home"),
    home: Path | None = typer.Option(None, "--home", help="the staging home (default: the "
                                                          "global --home, else PROD-staging)"),
    backend_port: int | None = typer.Option(None, help="default: a free port"),
    frontend_port: int | None = typer.Option(None, help="default: a free port"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Copy production: own ports and database, its latest verified backup restored, the
    same keys, source and release; marked `staging`."""
    from jobnaut.ops import staging

    production = source.resolve()
    root = (home or (Path(ops_cmds.STATE.home_option) if ops_cmds.STATE.home_option
                     else production.with_name(production.name + "-staging"))).resolve()
    copy = staging.create(production, root, backend_port=backend_port,
                          frontend_port=frontend_port)
    _deploy(root, copy, as_json=as_json)


@app.command("refresh")
def refresh(as_json: bool = typer.Option(False, "--json")) -> None:
    """Production's newest verified backup and release again (the staging database is
    backed up first)."""
    from jobnaut.ops import staging
    from jobnaut.ops.actions import lifecycle

    root = ops_cmds.home_root()
    env = Env.open(root)
    staging.production_of(env)  # refuse a home that is no staging copy before stopping it
    with ops_cmds.locked(env, "staging refresh"):
        lifecycle.down(env)
        copy = staging.refresh(env)
    _deploy(root, copy, as_json=as_json)


def _deploy(root: Path, copy: StagingCopy, *, as_json: bool) -> None:
    """Production's active commit on the staging home (if it is not active there yet)."""
    from jobnaut.ops import operation
    from jobnaut.ops.actions import lifecycle
    from jobnaut.ops.actions.deploy import DEPLOY

    ops_cmds.STATE.home_option = str(root)
    env = Env.open(root)
    active = env.ledger.active_release()
    if copy.commit and (active is None or active.ref != copy.commit):
        result = operation.execute(env, DEPLOY, {
            "ref": copy.commit, "demo_data": False,
            "reason": f"staging copy of production ({copy.backup.id})"})
        if not result.ok:
            fail(f"deploy on staging #{result.operation_id}: {result.error}", result.hint)
    with ops_cmds.locked(env, "up"):
        lifecycle.up(env)
    if as_json:
        print_json({**copy.as_json(), "urls": lifecycle.status(env)["urls"]})
        return
    console.print(f"[green]✓[/] staging environment in {root}, restored from verified backup "
                  f"{copy.backup.id} of {copy.production}")
    for service, url in lifecycle.status(env)["urls"].items():
        console.print(f"  {service}: {url}")
