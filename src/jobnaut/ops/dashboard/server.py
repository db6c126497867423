"""The dashboard's HTTP server: 127.0.0.1 only (it shows releases, figures and the
timeline of an environment: nothing for the outside). The page polls `/api/data`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Query
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from jobnaut.ops.context import Env
from jobnaut.ops.dashboard.data import Sampler, payload

STATIC = Path(__file__).parent / "static"


def make_app(env: Env, sampler: Sampler) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/data")
    def data(since: float = Query(0.0, ge=0)) -> dict[str, Any]:
        return payload(env, sampler, since)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def serve(env: Env, port: int, announce: Any) -> None:
    """Serve until Ctrl-C; `announce(url)` is called once the port is bound."""
    sampler = Sampler(env).start()
    config = uvicorn.Config(make_app(env, sampler), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets)
        bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
        announce(f"http://127.0.0.1:{bound}/")

    server.startup = startup  # type: ignore[method-assign]
    try:
        server.run()
    finally:
        sampler.stop()
