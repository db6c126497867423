"""`jobnaut schema …`: the schema as this code sees it, on DATABASE_URL. The control plane
runs these with each release's own code, so that a release's migrations (and downgrades)
run from that release. Operators use `jobnaut migrate …`, which acts on an environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from jobnaut.cli.output import fail
from jobnaut.config import ConfigError, effective_environment, parse_database_url

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(help="Schema plumbing on DATABASE_URL, as this code sees it (used by the "
                  "control plane; operators use `jobnaut migrate`).", no_args_is_help=True)


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
    from jobnaut.app.db import make_sessionmaker
    from jobnaut.app.jobs.demo import load_demo_if_empty
    from jobnaut.app.schema import current_revision, upgrade

    engine = _engine()
    upgrade(engine, to)
    typer.echo(f"schema at {current_revision(engine)}")
    if demo_data:
        typer.echo(f"loaded {load_demo_if_empty(make_sessionmaker(engine))} demo jobs")


@app.command("down")
def down(
    to: str = typer.Option(..., help="revision to downgrade to (or base)"),
    lock_timeout_ms: int = typer.Option(5000, help="PostgreSQL: give up waiting for a lock "
                                                   "after this long (the step rolls back)"),
    wait_for_go: bool = typer.Option(False, "--wait-for-go", help="load the code and connect, "
                                     "print `ready`, then downgrade only after a `go` line on "
                                     "stdin; anything else exits with nothing touched (the "
                                     "control plane prepares it before a maintenance window)"),
) -> None:
    """Downgrade the schema with this code's downgrade scripts."""
    import sys

    from jobnaut.app.schema import current_revision, downgrade

    engine = _engine()
    if wait_for_go:
        current_revision(engine)  # the driver loaded, the database reached
        typer.echo("ready")
        sys.stdout.flush()
        if sys.stdin.readline().strip() != "go":
            typer.echo("not started: nothing touched")
            raise typer.Exit(3)
    downgrade(engine, to, lock_timeout_ms=lock_timeout_ms)
    typer.echo(f"schema at {current_revision(engine)}")


@app.command("history")
def history_cmd() -> None:
    """Print this code's migrations as JSON, oldest first."""
    import json

    from jobnaut.app.schema import history

    typer.echo(json.dumps(history()))


@app.command("plan-down")
def plan_down(
    from_revision: str = typer.Option(..., "--from", help="revision the database is at"),
    to: str = typer.Option(..., help="revision to downgrade to (or base)"),
) -> None:
    """Print, as JSON, the SQL each downgrade step would run (rendered offline, nothing is
    touched), or why a step cannot be rendered."""
    import json

    from jobnaut.app.schema import history, render_downgrade_sql

    by_revision = {h["revision"]: h for h in history()}
    steps = []
    revision: str | None = from_revision
    while revision and revision != to:
        entry = by_revision.get(revision)
        if entry is None:
            fail(f"revision {revision} is not in this code's migrations", code=2)
        down = entry["down_revision"] or "base"
        try:
            sql, error = render_downgrade_sql(revision, down), None
        except Exception as exc:  # a downgrade that cannot even be rendered does not work
            sql, error = "", f"{type(exc).__name__}: {exc}"
        steps.append({**entry, "sql": sql, "error": error})
        revision = entry["down_revision"]
    if revision != to and to != "base":
        fail(f"{to} is not an ancestor of {from_revision}", code=2)
    typer.echo(json.dumps(steps))


@app.command("plan-up")
def plan_up(
    from_revision: str = typer.Option(..., "--from", help="revision the database is at (or "
                                                         "base)"),
) -> None:
    """Print, as JSON, the SQL each pending upgrade step would run, rendered offline."""
    import json

    from jobnaut.app.schema import history, render_upgrade_sql

    entries = history()  # oldest first
    known = {h["revision"] for h in entries}
    if from_revision != "base" and from_revision not in known:
        fail(f"revision {from_revision} is not in this code's migrations", code=2)
    pending = entries if from_revision == "base" else \
        entries[[h["revision"] for h in entries].index(from_revision) + 1:]
    steps = []
    for entry in pending:
        start = entry["down_revision"] or "base"
        steps.append({**entry, "sql": render_upgrade_sql(str(start), str(entry["revision"]))})
    typer.echo(json.dumps(steps))


@app.command("stamp")
def stamp(revision: str = typer.Argument(..., help="revision to record (or base)")) -> None:
    """Record a revision in the version table without running anything (the control plane
    does this only after checking that the live schema really is at that revision)."""
    from alembic import command

    from jobnaut.app.schema import alembic_config, current_revision

    engine = _engine()
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.stamp(config, revision, purge=True)
    typer.echo(f"schema at {current_revision(engine)}")


@app.command("shape")
def shape() -> None:
    """Print the live schema as JSON: tables, columns and their types, constraints, indexes
    and triggers (to compare two databases)."""
    import json

    from jobnaut.app.schema_shape import schema_shape

    typer.echo(json.dumps(schema_shape(_engine()), sort_keys=True))
