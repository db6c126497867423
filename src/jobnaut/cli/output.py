"""Shared rendering: one console, and the one way a failure is shown."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def report_failure(message: str, hint: str | None = None) -> None:
    # Messages quote commands, paths and errors: never read them as Rich markup.
    err_console.print(f"[bold red]FAILED:[/] {escape(message)}")
    if hint:
        err_console.print(f"[dim]hint:[/] {escape(hint)}")


def fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    report_failure(message, hint)
    raise typer.Exit(code)


def print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def ask_yes_no(question: str) -> bool:
    """Ask on stderr and read the answer from stdin; stdout is left to the command's output
    (click's own prompt writes a space to stdout, which breaks `--json`)."""
    err_console.print(f"{escape(question)} [y/N]: ", end="")
    return sys.stdin.readline().strip().lower() in ("y", "yes")
