"""The backend application factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from jobnaut import __version__
from jobnaut.app.accounts.routes import router as accounts_router
from jobnaut.app.accounts.security import ClerkConfig
from jobnaut.app.crypto import FieldCipher
from jobnaut.app.db import make_engine, make_sessionmaker
from jobnaut.app.deps import AppState
from jobnaut.app.errors import install_error_handlers
from jobnaut.app.feedback.routes import router as feedback_router
from jobnaut.app.jobs.routes import router as jobs_router
from jobnaut.app.matching.routes import router as matching_router
from jobnaut.app.saved.routes import router as saved_router
from jobnaut.app.subscriptions.routes import router as subscriptions_router
from jobnaut.app.system.headers import SecurityHeaders
from jobnaut.app.system.metrics import Metrics, MetricsMiddleware
from jobnaut.app.system.routes import router as system_router
from jobnaut.config import BackendSettings, Environment

ABOUT = "Job search, profiles with skills, saved jobs and skill matching."


def clerk_config(settings: BackendSettings) -> ClerkConfig | None:
    # The checklist requires all three together, so one missing means Clerk is off.
    if not (settings.clerk_jwt_key and settings.clerk_issuer and settings.clerk_authorized_parties):
        return None
    return ClerkConfig(public_key_pem=settings.clerk_jwt_key, issuer=settings.clerk_issuer,
                       authorized_parties=settings.clerk_authorized_parties)


def create_app(settings: BackendSettings) -> FastAPI:
    engine = make_engine(settings.database_url)
    title, description = "JobNaut API", ABOUT
    if settings.api_docs:
        # The docs pages' scripts and styles come from this package, not from a CDN.
        app = FastAPIOffline(title=title, version=__version__, description=description,
                             static_url="/docs-static")
    else:  # production's default: no map of the API for strangers
        app = FastAPI(title=title, version=__version__, description=description,
                      docs_url=None, redoc_url=None, openapi_url=None)
    app.state.jobnaut = AppState(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        cipher=FieldCipher(settings.encryption),
        clerk=clerk_config(settings),
    )
    app.state.metrics = Metrics()
    app.state.metrics.watch_database(engine)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(SecurityHeaders, production=settings.environment == Environment.production)
    install_error_handlers(app)
    for router in (system_router, accounts_router, jobs_router, matching_router, saved_router,
                   feedback_router, subscriptions_router):
        app.include_router(router)
    return app
