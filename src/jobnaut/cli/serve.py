"""`jobnaut serve backend|frontend`: run one service in the foreground."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

import typer

from jobnaut.cli.output import console, fail
from jobnaut.config import BackendSettings, ConfigError, FrontendSettings

if TYPE_CHECKING:
    from fastapi import FastAPI


class Service(StrEnum):
    backend = "backend"
    frontend = "frontend"


def serve(
    service: Service = typer.Argument(..., help="which service to run"),
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int | None = typer.Option(None, help="port (default: PORT, else 8000 / 8080)"),
    migrate: bool = typer.Option(False, help="backend: upgrade the schema before serving"),
    demo_data: bool = typer.Option(False, help="backend: load demo jobs into an empty database"),
    graceful_timeout: int = typer.Option(20, help="seconds to finish in-flight requests"),
) -> None:
    """Run one service in the foreground (development, and what the control plane starts)."""
    try:
        if service is Service.backend:
            settings = BackendSettings.from_env()
            app = _backend(settings, migrate=migrate, demo_data=demo_data)
            listen_port = port or settings.port
        else:
            from jobnaut.web.main import create_web_app

            web_settings = FrontendSettings.from_env()
            app = create_web_app(web_settings)
            listen_port = port or web_settings.port
    except ConfigError as exc:
        fail(f"{service} cannot start: " + "; ".join(exc.problems), code=2)
    import uvicorn

    from jobnaut.logformat import uvicorn_log_config

    console.print(f"{service} listening on http://{host}:{listen_port}")
    uvicorn.run(
        app, host=host, port=listen_port, log_level="info", access_log=False,
        timeout_graceful_shutdown=graceful_timeout, log_config=uvicorn_log_config(),
    )


def _backend(settings: BackendSettings, *, migrate: bool, demo_data: bool) -> FastAPI:
    from jobnaut.app import schema
    from jobnaut.app.db import make_engine, make_sessionmaker
    from jobnaut.app.jobs.demo import load_demo_if_empty
    from jobnaut.app.main import create_app

    if migrate or demo_data:
        engine = make_engine(settings.database_url)
        if migrate:
            schema.upgrade(engine)
        if demo_data:
            loaded = load_demo_if_empty(make_sessionmaker(engine))
            if loaded:
                console.print(f"loaded {loaded} demo jobs")
        engine.dispose()
    return create_app(settings)
