"""`jobnaut import jobs …`: fetch postings from the JSearch job feed into the database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TypeVar

import typer

from jobnaut.cli.output import console, err_console, fail
from jobnaut.config import effective_environment, parse_database_url, parse_http_url

T = TypeVar("T")

app = typer.Typer(help="Import data from external feeds.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Import data from external feeds."""


class DatePosted(StrEnum):
    all = "all"
    today = "today"
    three_days = "3days"
    week = "week"
    month = "month"


@app.command("jobs")
def jobs(
    query: str = typer.Option(..., "--query", "-q", help="what to search for"),
    pages: int = typer.Option(1, min=1, max=100, help="how many pages (about 10 postings each)"),
    country: str | None = typer.Option(None, help="two-letter country code, e.g. de"),
    date_posted: DatePosted | None = typer.Option(None, help="only postings this recent"),
    timeout: float = typer.Option(15.0, min=0.1, help="seconds to wait for each response"),
    attempts: int = typer.Option(4, min=1, max=10, help="tries per page on transient errors"),
) -> None:
    """Import job postings from the JSearch API (JSEARCH_API_URL, JSEARCH_API_KEY) into the
    database at DATABASE_URL. Postings already imported are updated, not duplicated."""
    # Imported here, not at the top: every `jobnaut` command would pay for them otherwise.
    import httpx
    from rich.logging import RichHandler
    from sqlalchemy.exc import SQLAlchemyError

    from jobnaut.app import schema
    from jobnaut.app.db import make_engine, make_sessionmaker
    from jobnaut.app.importer import (
        ImportFailed,
        ImportResult,
        JSearchClient,
        RetryPolicy,
        import_jobs,
    )

    logging.basicConfig(level=logging.WARNING, format="%(message)s", force=True,
                        handlers=[RichHandler(console=err_console, show_path=False,
                                              show_time=False)])
    env = effective_environment()
    if country is not None and not (len(country) == 2 and country.isalpha()):
        fail("--country must be a two-letter country code, e.g. de")
    database_url = _setting(env, "DATABASE_URL", parse_database_url)
    api_url = _setting(env, "JSEARCH_API_URL", parse_http_url)
    api_key = _setting(env, "JSEARCH_API_KEY", str)

    engine = make_engine(database_url)
    try:
        try:
            current = schema.current_revision(engine)
        except SQLAlchemyError as exc:
            fail(f"cannot reach the database: {type(getattr(exc, 'orig', None) or exc).__name__}")
        expected = schema.expected_revision()
        if current != expected:
            fail(f"database schema is at {current or 'nothing'}, this code expects {expected}; "
                 "migrate it first")

        def report(page: int, result: ImportResult) -> None:
            console.print(f"page {page}: {result.fetched} postings "
                          f"({result.inserted} new, {result.updated} updated)")

        client = JSearchClient(
            api_url, api_key,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            retry=RetryPolicy(attempts=attempts),
        )
        with client:
            try:
                result = import_jobs(
                    make_sessionmaker(engine), client, query, pages=pages,
                    country=country,
                    date_posted=date_posted.value if date_posted is not None else None,
                    on_page=report,
                )
            except ImportFailed as exc:
                done = exc.result
                if not done.pages:
                    fail(str(exc))
                fail(f"{exc}; the {done.pages} page(s) before it were saved "
                     f"({done.inserted} inserted, {done.updated} updated)")
    finally:
        engine.dispose()

    console.print(f"[green]✓[/] fetched {result.fetched}, inserted {result.inserted}, "
                  f"updated {result.updated}, skipped {result.skipped} "
                  f"({result.pages} page{'s' if result.pages != 1 else ''})")


def _setting(env: Mapping[str, str], name: str, parse: Callable[[str], T]) -> T:
    raw = env.get(name, "").strip()
    if not raw:
        fail(f"{name} is not set")
    try:
        return parse(raw)
    except ValueError as exc:  # the validators' messages never hold the value
        fail(f"{name}: {exc}")
