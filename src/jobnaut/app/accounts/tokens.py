"""The life of a bearer token: issued at sign-in, kept alive by use, ended by sign-out
(one or all), by idleness or by age, and pruned once dead.

Only a token's SHA-256 is stored. `expires_at` is the idle deadline: each use moves it to
`now + IDLE_TIMEOUT`, never past `created_at + MAX_LIFETIME`. The move is written at most
once per EXTEND_EVERY, so reading pages does not turn into a write per request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from jobnaut.app.accounts.models import AuthToken, User
from jobnaut.app.accounts.security import new_token, token_digest
from jobnaut.app.errors import ApiError

MAX_LIFETIME = timedelta(days=14)  # however active, sign in again after two weeks
IDLE_TIMEOUT = timedelta(days=3)  # unused this long, a token is dead
EXTEND_EVERY = timedelta(hours=1)
KEEP_DEAD = timedelta(days=30)  # dead tokens kept this long (to explain a 401), then pruned


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def issue_token(*, db: Session, user: User) -> str:
    now = datetime.now(UTC)
    prune(db=db, user_id=user.id, now=now)
    token = new_token()
    db.add(AuthToken(user_id=user.id, token_hash=token_digest(token), created_at=now,
                     expires_at=now + IDLE_TIMEOUT))
    return token


def user_for_token(*, db: Session, token: str) -> User:
    row = db.scalar(select(AuthToken).where(AuthToken.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None:
        raise ApiError(401, "unauthenticated", "invalid or expired token")
    now = datetime.now(UTC)
    if _utc(row.expires_at) <= now:
        raise ApiError(401, "unauthenticated", "token expired; sign in again")
    user = db.get(User, row.user_id)
    if user is None:
        raise ApiError(401, "unauthenticated", "invalid or expired token")
    deadline = min(now + IDLE_TIMEOUT, _utc(row.created_at) + MAX_LIFETIME)
    if deadline - _utc(row.expires_at) >= EXTEND_EVERY:
        row.expires_at = deadline
    return user


def sign_out(*, db: Session, token: str) -> None:
    row = db.scalar(select(AuthToken).where(AuthToken.token_hash == token_digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)


def sign_out_everywhere(*, db: Session, user: User, keep: str | None = None) -> int:
    """Revoke every live token of `user` (but `keep`, the caller's own, when given); the
    number revoked."""
    live = [AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None)]
    if keep is not None:
        live.append(AuthToken.token_hash != token_digest(keep))
    result = db.execute(update(AuthToken).where(*live).values(revoked_at=datetime.now(UTC)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def prune(*, db: Session, user_id: int, now: datetime) -> int:
    """Delete this user's tokens that have been dead for KEEP_DEAD. They can never
    authenticate again and hold nothing but a hash, so nothing is lost (no backup)."""
    cutoff = now - KEEP_DEAD
    result = db.execute(
        delete(AuthToken).where(
            AuthToken.user_id == user_id,
            or_(AuthToken.expires_at < cutoff, AuthToken.revoked_at < cutoff),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
