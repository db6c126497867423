"""Entry point of the `jobnaut` command."""

from __future__ import annotations

import typer

from jobnaut.cli import config_cmd
from jobnaut.cli.serve import serve

app = typer.Typer(
    help="JobNaut: run the job-search service, deploy it, and roll it back safely.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(serve)
app.add_typer(config_cmd.app, name="config")


def main() -> None:
    app()
