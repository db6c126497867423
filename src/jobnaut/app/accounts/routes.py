from __future__ import annotations

from fastapi import APIRouter, Request, Response

from jobnaut.app.accounts import service, tokens
from jobnaut.app.accounts.passwords import password_problem
from jobnaut.app.accounts.schemas import (
    AccountDeleted,
    Credentials,
    MeOut,
    PasswordChange,
    PasswordConfirmation,
    ProfileIn,
    ProfileOut,
    SignedOut,
    SignInRequest,
    TokenOut,
    UserOut,
)
from jobnaut.app.deps import CipherDep, CurrentUser, SessionDep, StateDep, bearer_token
from jobnaut.app.errors import ApiError
from jobnaut.app.responses import errors

router = APIRouter(prefix="/api", tags=["accounts"], responses=errors(422))


def client_address(request: Request) -> str:
    # Behind the traffic switch, uvicorn has already replaced the switch's loopback address
    # with the X-Forwarded-For client (it trusts that header from 127.0.0.1 only).
    return request.client.host if request.client else "unknown"


@router.post("/auth/signup", status_code=201, response_model=TokenOut,
             responses=errors(409, 429, 503))
def sign_up(body: Credentials, request: Request, db: SessionDep, state: StateDep) -> TokenOut:
    user, token = service.sign_up(db=db, email=body.email, password=body.password,
                                  throttle=state.throttle, address=client_address(request))
    return TokenOut(token=token, user=UserOut(id=user.id, email=user.email))


@router.post("/auth/signin", response_model=TokenOut, responses=errors(401, 429, 503))
def sign_in(body: SignInRequest, request: Request, db: SessionDep, state: StateDep) -> TokenOut:
    user, token = service.sign_in(db=db, email=body.email, password=body.password,
                                  throttle=state.throttle, address=client_address(request))
    return TokenOut(token=token, user=UserOut(id=user.id, email=user.email))


@router.post("/auth/signout", status_code=204, responses=errors(401, 409))
def sign_out(request: Request, db: SessionDep, _user: CurrentUser) -> Response:
    token = bearer_token(request)
    if service.is_clerk_token(token):
        # A Clerk session token cannot be revoked here (it is checked offline until it
        # expires); saying 204 would claim otherwise. The session ends at Clerk.
        raise ApiError(409, "clerk_session",
                       "a Clerk session is ended with Clerk's sign-out, not by this API")
    tokens.sign_out(db=db, token=token)
    return Response(status_code=204)


@router.post("/auth/signout-everywhere", response_model=SignedOut,
             responses=errors(401, 409))
def sign_out_everywhere(user: CurrentUser, db: SessionDep) -> SignedOut:
    """End every session of this account (a lost laptop, a shared computer)."""
    return SignedOut(revoked=tokens.sign_out_everywhere(db=db, user=user))


@router.get("/me", response_model=MeOut, responses=errors(401, 409))
def me(user: CurrentUser, db: SessionDep, cipher: CipherDep) -> MeOut:
    profile = service.get_profile(db=db, cipher=cipher, user=user)
    return MeOut(id=user.id, email=user.email, profile=profile)


@router.get("/profile", response_model=ProfileOut, responses=errors(401, 409))
def get_profile(user: CurrentUser, db: SessionDep, cipher: CipherDep) -> ProfileOut:
    return service.get_profile(db=db, cipher=cipher, user=user)


@router.put("/profile", response_model=ProfileOut, responses=errors(401, 409))
def put_profile(
    body: ProfileIn, user: CurrentUser, db: SessionDep, cipher: CipherDep
) -> ProfileOut:
    return service.update_profile(db=db, cipher=cipher, user=user, data=body)


@router.post("/auth/password", response_model=SignedOut, responses=errors(401, 403, 409, 429))
def change_password(body: PasswordChange, request: Request, user: CurrentUser, db: SessionDep,
                    state: StateDep) -> SignedOut:
    """Change the password (the current one again first); every other session ends."""
    service.confirm_password(user=user, password=body.current_password,
                             throttle=state.throttle, address=client_address(request))
    problem = password_problem(body.new_password, user.email)
    if problem:
        raise ApiError(422, "validation_error", f"new_password: {problem}",
                       fields=[{"field": "new_password", "message": problem}])
    revoked = service.change_password(db=db, user=user, current_token=bearer_token(request),
                                      new_password=body.new_password, throttle=state.throttle)
    return SignedOut(revoked=revoked)


RECOVERABLE = ("deleted from the live database now; the environment's backups taken before "
               "this moment still hold it for as long as they are kept (docs/operations.md, "
               "'Deleted accounts'), so an operator can bring it back after a mistake")


@router.post("/account/delete", response_model=AccountDeleted,
             responses=errors(401, 403, 409, 429))
def delete_account(body: PasswordConfirmation, request: Request, user: CurrentUser,
                   db: SessionDep, state: StateDep) -> AccountDeleted:
    """Delete the account and everything it owns, confirmed with the password."""
    service.confirm_password(user=user, password=body.password,
                             throttle=state.throttle, address=client_address(request))
    return AccountDeleted(deleted=service.delete_account(db=db, user=user),
                          recoverable=RECOVERABLE)
