from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, EmailStr, Field

from jobnaut.app.deps import SessionDep, StateDep
from jobnaut.app.responses import errors
from jobnaut.app.subscriptions import service

router = APIRouter(prefix="/api/subscriptions", tags=["subscriptions"])


class SubscribeIn(BaseModel):
    email: EmailStr


class TokenIn(BaseModel):
    token: str = Field(min_length=8, max_length=128)


class SubscriptionOut(BaseModel):
    email: str
    state: str


@router.post("", status_code=202, response_model=SubscriptionOut, responses=errors(422, 503))
def subscribe(body: SubscribeIn, db: SessionDep, state: StateDep) -> SubscriptionOut:
    """Sends a confirmation mail; notices start only once its link is followed."""
    service.subscribe(db=db, settings=state.settings, email=str(body.email))
    return SubscriptionOut(email=str(body.email).lower(), state="pending")


@router.post("/confirm", response_model=SubscriptionOut, responses=errors(404, 422))
def confirm(body: TokenIn, db: SessionDep) -> SubscriptionOut:
    return SubscriptionOut(email=service.confirm(db=db, token=body.token), state="confirmed")


@router.post("/unsubscribe", response_model=SubscriptionOut, responses=errors(404, 422))
def unsubscribe(body: TokenIn, db: SessionDep) -> SubscriptionOut:
    return SubscriptionOut(email=service.unsubscribe(db=db, token=body.token),
                           state="unsubscribed")
