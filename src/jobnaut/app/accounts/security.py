"""Passwords (argon2id), opaque bearer tokens, and Clerk session-token verification."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters

TOKEN_PREFIX = "jn_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ClerkTokenError(Exception):
    pass


# Clerk's session tokens live 60 seconds and are refreshed by its SDK; a token that claims
# to live longer than this was not minted as a session token, or its key has leaked.
CLERK_MAX_LIFETIME = 600
_CLERK_SUBJECT = re.compile(r"[A-Za-z0-9_-]{1,200}")


@dataclass(frozen=True)
class ClerkConfig:
    """What a Clerk session token must match: signed by this key, issued by this Clerk
    instance, for one of these origins (`azp`)."""

    public_key_pem: str
    issuer: str
    authorized_parties: tuple[str, ...]


def verify_clerk_token(token: str, clerk: ClerkConfig) -> dict[str, object]:
    """Verify a Clerk session token (RS256 JWT) offline: signature, times, issuer, party,
    lifetime and subject. Any failure is one ClerkTokenError with the reason."""
    try:
        claims: dict[str, object] = jwt.decode(
            token,
            clerk.public_key_pem,
            algorithms=["RS256"],
            issuer=clerk.issuer,
            options={"require": ["exp", "sub", "iat", "iss", "azp"]},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise ClerkTokenError(f"invalid Clerk session token: {exc}") from None
    if claims["azp"] not in clerk.authorized_parties:
        raise ClerkTokenError("invalid Clerk session token: not issued for this site (azp)")
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int | float) or not isinstance(iat, int | float) \
            or exp - iat > CLERK_MAX_LIFETIME:
        raise ClerkTokenError("invalid Clerk session token: lifetime too long")
    if not isinstance(claims["sub"], str) or not _CLERK_SUBJECT.fullmatch(claims["sub"]):
        raise ClerkTokenError("invalid Clerk session token: no valid subject")
    return claims
