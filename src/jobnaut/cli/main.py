"""Entry point of the `jobnaut` command."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

import typer

from jobnaut.cli import (
    comms_cmds,
    config_cmd,
    db_cmds,
    drill_cmds,
    guard_cmd,
    importer_cmd,
    ops_cmds,
    schema_cmd,
    staging_cmds,
    watch_cmd,
)
from jobnaut.cli.conventions import describe_standard_options
from jobnaut.cli.output import report_failure
from jobnaut.cli.serve import serve
from jobnaut.ops.errors import OpsError

app = typer.Typer(
    help="JobNaut: run the job-search service, deploy it, and roll it back safely.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"jobnaut {version('jobnaut')}")
        raise typer.Exit()


@app.callback()
def global_options(
    home: str | None = typer.Option(None, "--home", help="environment home (default: "
                                                         "$JOBNAUT_HOME or ./.jobnaut)"),
    debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="print the version of this jobnaut and exit"),
) -> None:
    ops_cmds.STATE.home_option = home
    ops_cmds.STATE.debug = debug


app.command()(serve)
ops_cmds.register(app)
app.add_typer(config_cmd.app, name="config")
app.add_typer(schema_cmd.app, name="schema", hidden=True)
app.add_typer(db_cmds.backup_app, name="backup")
app.add_typer(db_cmds.migrate_app, name="migrate")
app.command("freeze")(db_cmds.freeze_cmd)
app.add_typer(importer_cmd.app, name="import")
comms_cmds.register(app)
app.add_typer(guard_cmd.app, name="guard", hidden=True)
app.command("watch")(watch_cmd.watch)
app.command("dashboard")(watch_cmd.dashboard)
app.add_typer(staging_cmds.app, name="staging")
app.add_typer(drill_cmds.app, name="drill")


def main() -> None:
    try:
        _run()
    except SystemExit as exc:
        _leave(exc.code)
    _leave(0)


def _leave(code: str | int | None) -> NoReturn:
    """Exit as soon as what was written is flushed and what waits for the exit has run.
    Tearing the interpreter down module by module costs a command 50–100 ms once
    SQLAlchemy and psycopg are loaded (bench/README.md, "CLI start"), and none of it
    matters once the command is done. A thread still at work (not a daemon, such as a
    pool's worker) gets the ordinary exit, which waits for it."""
    working = any(t is not threading.main_thread() and not t.daemon and t.is_alive()
                  for t in threading.enumerate())
    if working or isinstance(code, str):
        sys.exit(code)
    atexit._run_exitfuncs()  # logging's flush, temporary files' cleanup
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to flush to
            stream.flush()
    os._exit(code or 0)


def _run() -> None:
    command = typer.main.get_command(app)
    describe_standard_options(command)
    try:
        command(prog_name="jobnaut")
    except OpsError as exc:  # raised outside a command's own handling: same one-line form
        if ops_cmds.STATE.debug:
            raise
        report_failure(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # an operator gets one line, not a traceback
        if ops_cmds.STATE.debug:
            raise
        report_failure(f"unexpected error: {type(exc).__name__}: {exc}",
                       "run again with --debug for the traceback; the ledger records what "
                       "was done (`jobnaut status`)")
        sys.exit(1)
