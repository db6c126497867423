"""`jobnaut migrate …`: the schema as this code sees it. The control plane runs these with
each release's own code, so that a release's migrations run from that release."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from jobnaut.cli.output import fail
from jobnaut.config import ConfigError, effective_environment, parse_database_url

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


def _engine() -> Engine:
    from jobnaut.app.db import make_engine

    raw = effective_environment().get("DATABASE_URL", "")
    if not raw:
        fail("DATABASE_URL is not set", code=2)
    try:
        return make_engine(parse_database_url(raw))
    except (ValueError, ConfigError) as exc:
        fail(f"DATABASE_URL: {exc}", code=2)


@app.command("expected")
def expected() -> None:
    """Print the schema revision this code expects."""
    from jobnaut.app.schema import expected_revision

    typer.echo(expected_revision())


@app.command("current")
def current() -> None:
    """Print the database's schema revision (None when it has none)."""
    from jobnaut.app.schema import current_revision

    typer.echo(str(current_revision(_engine())))


@app.command("up")
def up(
    to: str = typer.Option("head", help="revision to upgrade to"),
    demo_data: bool = typer.Option(False, help="then load demo jobs into an empty database"),
) -> None:
    """Upgrade the schema."""
    from jobnaut.app.db import make_sessionmaker, transaction
    from jobnaut.app.jobs.demo import load_demo_if_empty
    from jobnaut.app.schema import current_revision, upgrade

    engine = _engine()
    upgrade(engine, to)
    typer.echo(f"schema at {current_revision(engine)}")
    if demo_data:
        with transaction(make_sessionmaker(engine)) as db:
            typer.echo(f"loaded {load_demo_if_empty(db)} demo jobs")


@app.command("down")
def down(to: str = typer.Option(..., help="revision to downgrade to (or base)")) -> None:
    """Downgrade the schema with this code's downgrade scripts."""
    from jobnaut.app.schema import current_revision, downgrade

    engine = _engine()
    downgrade(engine, to)
    typer.echo(f"schema at {current_revision(engine)}")
