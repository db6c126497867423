"""Shared rendering: one console, and the one way a failure is shown."""

from __future__ import annotations

import json
from typing import NoReturn

import typer
from rich.console import Console

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]FAILED:[/] {message}")
    if hint:
        err_console.print(f"[dim]hint:[/] {hint}")
    raise typer.Exit(code)


def print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))
