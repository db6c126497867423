"""Accounts: sign-up, sign-in, sign-out, token authentication and profiles."""

from __future__ import annotations

import functools
import hashlib
import logging

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobnaut.app.accounts import tokens
from jobnaut.app.accounts.models import AuthToken, Profile, User
from jobnaut.app.accounts.schemas import ProfileIn, ProfileOut
from jobnaut.app.accounts.security import (
    TOKEN_PREFIX,
    ClerkConfig,
    ClerkTokenError,
    hash_password,
    verify_clerk_token,
    verify_password,
)
from jobnaut.app.accounts.throttle import Throttle
from jobnaut.app.accounts.tokens import issue_token, user_for_token
from jobnaut.app.crypto import FieldCipher, place
from jobnaut.app.errors import ApiError
from jobnaut.app.saved.models import SavedJob

log = logging.getLogger("jobnaut.api")
FULL_NAME, LOCATION = "profiles.full_name_enc", "profiles.location_enc"

@functools.cache
def _dummy_hash() -> str:
    """Hash of a throwaway password, so sign-in takes as long for unknown emails as known
    ones. Made at the first sign-in, not at import: a release starts ~0.1-0.2 s sooner."""
    return hash_password("not-a-real-password")


def _unauthenticated(message: str = "invalid or expired token") -> ApiError:
    return ApiError(401, "unauthenticated", message)


def sign_up(*, db: Session, email: str, password: str, throttle: Throttle,
            address: str) -> tuple[User, str]:
    email = email.lower()
    throttle.check(account=None, address=address)
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise _email_taken()
    with throttle.hashing.slot():
        password_hash = hash_password(password)
    user = User(email=email, password_hash=password_hash)
    # Two sign-ups with one email can both pass the check above (hashing takes long):
    # the unique index decides, in a savepoint so that the loser's transaction survives
    # to answer 409 rather than 500.
    try:
        with db.begin_nested():
            db.add(user)
    except IntegrityError:
        raise _email_taken() from None
    return user, issue_token(db=db, user=user)


def _email_taken() -> ApiError:
    return ApiError(409, "email_taken", "an account with this email already exists")


def sign_in(*, db: Session, email: str, password: str, throttle: Throttle,
            address: str) -> tuple[User, str]:
    email = email.lower()
    throttle.check(account=email, address=address)
    user = db.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user is not None else None
    with throttle.hashing.slot():
        # Unknown emails take as long as known ones, so timing does not tell them apart.
        dummy = _dummy_hash()  # every first sign-in pays for it, whoever signs in
        matches = verify_password(stored or dummy, password) and stored is not None
    if user is None or not matches:
        throttle.account_failures.record(email)
        # Who and from where, never the password; the email only as a digest (personal
        # data): an operator matches it with `printf %s EMAIL | sha256sum`.
        log.warning("failed sign-in: account %s from %s", account_digest(email), address)
        raise ApiError(401, "bad_credentials", "wrong email or password")
    throttle.account_failures.clear(email)
    return user, issue_token(db=db, user=user)


def account_digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:16]


def authenticate(*, db: Session, token: str, clerk: ClerkConfig | None) -> User:
    if token.startswith(TOKEN_PREFIX):
        return user_for_token(db=db, token=token)
    if clerk is None:
        raise _unauthenticated()
    return _user_for_clerk_token(db=db, token=token, clerk=clerk)


def _user_for_clerk_token(*, db: Session, token: str, clerk: ClerkConfig) -> User:
    try:
        claims = verify_clerk_token(token, clerk)
    except ClerkTokenError as exc:
        raise _unauthenticated(str(exc)) from None
    clerk_id = str(claims["sub"])
    user = db.scalar(select(User).where(User.clerk_user_id == clerk_id))
    if user is not None:
        return user
    email = _clerk_email(claims.get("email"), clerk_id)
    # A new user's first requests often arrive together: create the user in its own
    # transaction, so that the requests that lose the race find the winner's row
    # instead of failing on a unique constraint.
    if db.scalar(select(User.id).where(User.email == email)) is None:
        try:
            with Session(db.get_bind()) as own, own.begin():
                own.add(User(email=email, clerk_user_id=clerk_id))
        except IntegrityError:
            pass
    user = db.scalar(select(User).where(User.clerk_user_id == clerk_id))
    if user is None:
        raise ApiError(409, "email_taken", "a password account already uses this email")
    return user


def _clerk_email(claim: object, clerk_id: str) -> str:
    """The new user's email: the token's `email` claim when it is a valid address (checked
    like a sign-up's), a placeholder under the reserved .invalid domain when it has none."""
    if claim is None or claim == "":
        return f"{clerk_id}@clerk.invalid".lower()
    if not isinstance(claim, str):
        raise _unauthenticated("invalid Clerk session token: email is not an address")
    try:
        return validate_email(claim, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise _unauthenticated("invalid Clerk session token: email is not an address") from None


def is_clerk_token(token: str) -> bool:
    return not token.startswith(TOKEN_PREFIX)


def get_profile(*, db: Session, cipher: FieldCipher, user: User) -> ProfileOut:
    profile = db.get(Profile, user.id)
    if profile is None:
        return ProfileOut()
    return ProfileOut(
        full_name=cipher.decrypt(profile.full_name_enc, at=place(FULL_NAME, user.id)),
        location=cipher.decrypt(profile.location_enc, at=place(LOCATION, user.id)),
        experience_level=profile.experience_level,
        skills=list(profile.skills or []),
    )


def update_profile(*, db: Session, cipher: FieldCipher, user: User, data: ProfileIn) -> ProfileOut:
    profile = db.get(Profile, user.id)
    if profile is None:
        profile = Profile(user_id=user.id, skills=[])
        db.add(profile)
    profile.full_name_enc = cipher.encrypt(data.full_name, at=place(FULL_NAME, user.id))
    profile.location_enc = cipher.encrypt(data.location, at=place(LOCATION, user.id))
    profile.experience_level = data.experience_level
    profile.skills = list(data.skills)
    db.flush()
    return get_profile(db=db, cipher=cipher, user=user)



def confirm_password(*, user: User, password: str, throttle: Throttle, address: str) -> None:
    """A signed-in person proves it is them before a change that cannot be taken back by
    a stolen session alone: the same limits and timing as a sign-in."""
    if user.password_hash is None:
        raise ApiError(409, "clerk_account", "this account signs in with Clerk: change or "
                       "delete it there")
    throttle.check(account=user.email, address=address)
    with throttle.hashing.slot():
        matches = verify_password(user.password_hash, password)
    if not matches:
        throttle.account_failures.record(user.email)
        log.warning("wrong current password: account %s from %s",
                    account_digest(user.email), address)
        # 403, not 401: the session is good, only this confirmation failed.
        raise ApiError(403, "wrong_password", "the current password is not right")
    throttle.account_failures.clear(user.email)


def change_password(*, db: Session, user: User, current_token: str, new_password: str,
                    throttle: Throttle) -> int:
    """Sets the new password and ends every other session of the account (whoever knew the
    old password may be signed in elsewhere); returns how many ended."""
    with throttle.hashing.slot():
        user.password_hash = hash_password(new_password)
    return tokens.sign_out_everywhere(db=db, user=user, keep=current_token)


def delete_account(*, db: Session, user: User) -> dict[str, int]:
    """Deletes the account and everything it owns (profile, sessions, saved jobs with their
    notes and history: the foreign keys cascade). Nothing is lost beyond recovery: the
    rows stay in the environment's backups for as long as those are kept (docs/operations
    .md, "Deleted accounts"); the log line says when, so an operator knows which backups
    still hold the account. Returns what was deleted, per table."""
    counts = {
        "saved_jobs": db.scalar(select(func.count()).select_from(SavedJob)
                                .where(SavedJob.user_id == user.id)) or 0,
        "sessions": db.scalar(select(func.count()).select_from(AuthToken)
                              .where(AuthToken.user_id == user.id)) or 0,
    }
    # A Core delete, so the database's ON DELETE CASCADE does the work (the ORM would try
    # to null the profile's key instead).
    db.execute(delete(User).where(User.id == user.id))
    log.warning("account deleted: account %s (id %s) with %s saved jobs; recoverable from "
                "backups taken before now", account_digest(user.email), user.id,
                counts["saved_jobs"])
    return counts
