"""Encryption of personal fields at rest (Fernet: AES-128-CBC with HMAC-SHA256).

A `FieldCipher` wraps the MultiFernet built from ENCRYPTION_KEY: the first key encrypts,
all keys decrypt, so data written before a key rotation stays readable.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken, MultiFernet


class UndecryptableError(Exception):
    """Stored data was encrypted with a key that is no longer configured."""


class FieldCipher:
    def __init__(self, keys: MultiFernet):
        self._keys = keys

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self._keys.encrypt(value.encode()).decode("ascii")

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._keys.decrypt(token.encode("ascii")).decode()
        except InvalidToken:
            raise UndecryptableError(
                "stored data cannot be decrypted with the configured ENCRYPTION_KEY "
                "(was a key removed instead of rotated?)"
            ) from None

    def can_decrypt(self, token: str) -> bool:
        try:
            self._keys.decrypt(token.encode("ascii"))
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """Re-encrypt a stored value under the newest key."""
        return self._keys.rotate(token.encode("ascii")).decode("ascii")
