"""`jobnaut config …`: the configuration checklist (Appendix B) and key generation."""

from __future__ import annotations

import typer
from cryptography.fernet import Fernet
from rich.table import Table

from jobnaut.cli.output import console, print_json
from jobnaut.config import check_variables, effective_environment

app = typer.Typer(help="Check and change configuration.", no_args_is_help=True)


@app.command("check")
def check(
    service: str | None = typer.Option(None, help="backend or frontend (default: both)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Print the configuration checklist with each item's state; exit 1 if any fails."""
    results = check_variables(effective_environment(), service)
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


@app.command("generate-key")
def generate_key() -> None:
    """Print a new ENCRYPTION_KEY (prepend it to the existing keys to rotate)."""
    typer.echo(Fernet.generate_key().decode())
