"""`jobnaut guard …`: the guard process (started by `up`, not by hand) and its figures."""

from __future__ import annotations

import typer

from jobnaut.cli.ops_cmds import open_env

app = typer.Typer(help="The guard: watches releases after they take traffic (ADR 0006).",
                  no_args_is_help=True)


@app.command("run")
def run() -> None:
    """Run the guard in the foreground (`jobnaut up` starts it in the background)."""
    from jobnaut.ops.guard import loop

    loop.run(open_env())


@app.command("metrics")
def metrics() -> None:
    """Print the last per-release figures in Prometheus text format."""
    from jobnaut.ops.guard import process

    path = process.metrics_file(open_env().home)
    typer.echo(path.read_text() if path.exists() else "", nl=False)
