"""`jobnaut config …`: the Appendix B checklist and each release's configuration snapshot."""

from __future__ import annotations

import typer

from jobnaut.cli.ops_cmds import STATE, home_root, open_env, run_procedure
from jobnaut.cli.output import console, fail, print_json
from jobnaut.config import SERVICES, check_variables, effective_environment

app = typer.Typer(help="Check, show, change and restore configuration.", no_args_is_help=True)


@app.command("check")
def check(
    service: str | None = typer.Option(None, help="backend or frontend (default: both)"),
    from_env: bool = typer.Option(False, "--env", help="check this shell's environment and "
                                                       ".env instead of the environment home"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Print the configuration checklist with each item's state; exit 1 if any fails."""
    from rich.table import Table

    if service is not None and service not in SERVICES:
        fail(f"--service must be one of {', '.join(SERVICES)}", code=2)
    if not from_env and (home_root() / "jobnaut.toml").exists():
        env = open_env()
        values = env.config_of(env.current_config_id())
    else:
        values = effective_environment()
    results = check_variables(values, service)
    if as_json:
        print_json([{"name": r.name, "state": r.state, "reason": r.reason} for r in results])
    else:
        table = Table("", "variable", "state", "reason")
        for r in results:
            mark = "[green]✓[/]" if r.ok else "[red]✗[/]"
            table.add_row(mark, r.name, r.state, r.reason)
        console.print(table)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@app.command("show")
def show(
    release: str | None = typer.Option(None, help="a release's snapshot (default: active)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show the configuration, secrets redacted."""
    from jobnaut.ops.actions import lifecycle

    values = lifecycle.show_config(open_env(), release)
    if as_json:
        print_json(values)
        return
    for key, value in values.items():
        console.print(f"{key}={value}")


@app.command("diff")
def diff(
    a: str = typer.Argument(..., help="release, e.g. v3"),
    b: str = typer.Argument(..., help="release, e.g. v4"),
    reveal: bool = typer.Option(False, help="show secret values (careful: on screen)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Which keys changed between two releases' configurations."""
    from jobnaut.ops.actions import configuration

    rows = configuration.diff(open_env(), a, b, reveal=reveal)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no differences")
    for row in rows:
        console.print(f"{row['change']:>8} {row['key']}: {row[a]!s} → {row[b]!s}")


@app.command("set")
def set_(
    assignments: list[str] = typer.Argument(..., help="KEY=VALUE …"),
    dry_run: bool = typer.Option(False, "--dry-run"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Change configuration: a new release with the same code, deployed with the same checks."""
    from jobnaut.ops.actions import configuration
    from jobnaut.ops.actions.rollback import CONFIG_RELEASE

    env = open_env()
    changes = configuration.parse_assignments(assignments)
    if dry_run:  # the plan only; no snapshot is stored
        run_procedure(CONFIG_RELEASE, {"config_id": env.current_config_id(),
                                       "reason": "config set " + ", ".join(sorted(changes))},
                      dry_run=True, resume=False, as_json=as_json)
        return
    config_id, reason = configuration.changed_config(env, set_values=changes)
    run_procedure(CONFIG_RELEASE, {"config_id": config_id, "reason": reason},
                  dry_run=dry_run, resume=False, as_json=as_json)


@app.command("unset")
def unset(
    keys: list[str] = typer.Argument(...),
    dry_run: bool = typer.Option(False, "--dry-run"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Remove configuration keys: a new release, deployed with the same checks."""
    from jobnaut.ops.actions import configuration
    from jobnaut.ops.actions.rollback import CONFIG_RELEASE

    env = open_env()
    keys = [k.upper() for k in keys]
    missing = sorted(set(keys) - set(env.config_of(env.current_config_id())))
    if missing:
        fail(f"not set: {', '.join(missing)}", "`jobnaut config show` lists what is set",
             code=2)
    if dry_run:
        run_procedure(CONFIG_RELEASE, {"config_id": env.current_config_id(),
                                       "reason": "config unset " + ", ".join(keys)},
                      dry_run=True, resume=False, as_json=as_json)
        return
    config_id, reason = configuration.changed_config(env, unset=keys)
    run_procedure(CONFIG_RELEASE, {"config_id": config_id, "reason": reason},
                  dry_run=dry_run, resume=False, as_json=as_json)


@app.command("restore")
def restore(
    from_release: str = typer.Option(..., "--from", help="release whose snapshot to restore"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Restore a release's configuration snapshot (same as `rollback config --to`)."""
    from jobnaut.ops.actions import configuration
    from jobnaut.ops.actions.rollback import CONFIG_RELEASE

    env = open_env()
    config_id, reason = configuration.rollback_target_config(env, from_release)
    run_procedure(CONFIG_RELEASE, {"config_id": config_id, "reason": reason},
                  dry_run=False, resume=False, as_json=as_json)


@app.command("generate-key")
def generate_key() -> None:
    """Print a new ENCRYPTION_KEY (put it first, before the old key, to rotate)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())


__all__ = ["STATE", "app"]
