"""FastAPI dependencies shared by the feature routers (Annotated aliases, as in the template)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jobnaut.app.accounts.models import User
from jobnaut.app.accounts.security import ClerkConfig
from jobnaut.app.accounts.throttle import Throttle
from jobnaut.app.crypto import FieldCipher
from jobnaut.app.errors import ApiError
from jobnaut.config import BackendSettings


@dataclass
class AppState:
    settings: BackendSettings
    engine: Engine
    sessions: sessionmaker[Session]
    cipher: FieldCipher
    clerk: ClerkConfig | None = None  # None: Clerk sign-in is off
    throttle: Throttle = field(default_factory=Throttle)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.jobnaut
    return state


def get_db(state: Annotated[AppState, Depends(get_state)]) -> Iterator[Session]:
    with state.sessions() as session, session.begin():
        yield session


def get_cipher(state: Annotated[AppState, Depends(get_state)]) -> FieldCipher:
    return state.cipher


StateDep = Annotated[AppState, Depends(get_state)]
# scope="function": the transaction commits before the response is sent, so a client that
# has its 201 can rely on the write (the default "request" scope commits after sending).
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
CipherDep = Annotated[FieldCipher, Depends(get_cipher)]


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthenticated", "sign in first (missing bearer token)")
    return token.strip()


# Declares the bearer scheme in OpenAPI (securitySchemes, and `security` on each route that
# needs a user); the token itself is read by `bearer_token`, which answers in our 401 shape.
bearer_scheme = HTTPBearer(auto_error=False, description="a token from /api/auth/signin "
                           "or /api/auth/signup, or a Clerk session token")


def current_user(
    request: Request, db: SessionDep, state: StateDep,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> User:
    from jobnaut.app.accounts import service

    return service.authenticate(
        db=db, token=bearer_token(request), clerk=state.clerk
    )


CurrentUser = Annotated[User, Depends(current_user)]
