"""Passwords (argon2id), opaque bearer tokens, and Clerk session-token verification."""

from __future__ import annotations

import hashlib
import secrets

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


def verify_clerk_token(token: str, public_key_pem: str) -> dict[str, object]:
    """Verify a Clerk session token (RS256 JWT) offline against Clerk's PEM public key."""
    try:
        claims: dict[str, object] = jwt.decode(
            token,
            public_key_pem,
            algorithms=["RS256"],
            options={"require": ["exp", "sub", "iat"]},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise ClerkTokenError(f"invalid Clerk session token: {exc}") from None
    return claims
