"""Encryption of personal fields at rest (Fernet: AES-128-CBC with HMAC-SHA256).

A `FieldCipher` wraps the MultiFernet built from ENCRYPTION_KEY: the first key encrypts,
all keys decrypt, so data written before a key rotation stays readable.

Each value is bound to its place (`profiles.full_name_enc#42`): the place is encrypted and
authenticated with the value, and decrypting checks it. So a ciphertext copied into another
user's row (by anyone who can write the database but has no key) does not decrypt there.
Values written before binding existed carry no place and are still read; `rebind` rewrites
them bound (see jobnaut.app.rebind).
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken, MultiFernet


class UndecryptableError(Exception):
    """Stored data was encrypted with a key that is no longer configured."""


_BOUND = b"jn-bound-v1\x00"  # marks a plaintext that starts with its place


def place(column: str, row_id: int) -> str:
    """Where a value lives: `table.column#row`."""
    return f"{column}#{row_id}"


class FieldCipher:
    def __init__(self, keys: MultiFernet):
        self._keys = keys

    def encrypt(self, value: str | None, *, at: str) -> str | None:
        if value is None:
            return None
        plain = _BOUND + at.encode() + b"\x00" + value.encode()
        return self._keys.encrypt(plain).decode("ascii")

    def decrypt(self, token: str | None, *, at: str) -> str | None:
        if token is None:
            return None
        bound_to, value = self._open(token)
        if bound_to is not None and bound_to != at:
            raise UndecryptableError("stored data belongs to another row or column "
                                     "(was a ciphertext copied?)")
        return value

    def is_bound(self, token: str) -> bool:
        return self._open(token)[0] is not None

    def _open(self, token: str) -> tuple[str | None, str]:
        """(place or None for an unbound legacy value, value)."""
        try:
            plain = self._keys.decrypt(token.encode("ascii"))
        except InvalidToken:
            raise UndecryptableError(
                "stored data cannot be decrypted with the configured ENCRYPTION_KEY "
                "(was a key removed instead of rotated?)"
            ) from None
        if plain.startswith(_BOUND):
            bound_to, _, value = plain[len(_BOUND):].partition(b"\x00")
            return bound_to.decode(), value.decode()
        return None, plain.decode()

    def can_decrypt(self, token: str) -> bool:
        try:
            self._keys.decrypt(token.encode("ascii"))
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """Re-encrypt a stored value under the newest key."""
        return self._keys.rotate(token.encode("ascii")).decode("ascii")
