"""Configuration snapshots are stored encrypted with a key kept in the home (mode 0600), and
secret values are masked in anything shown."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from jobnaut.ops.errors import OpsError


def create_key(path: Path) -> None:
    if path.exists():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(Fernet.generate_key())


# A shorter value is never used as a masking pattern: masking "1" would hide every digit of
# every path and commit hash, and hide nothing (a value that short is no secret anyway).
MIN_SECRET_LENGTH = 8
MASK = "****"
# The password of any URL (scheme://user:password@host), whatever its length.
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@", re.IGNORECASE)


def maskable(values: Iterable[str]) -> list[str]:
    """The values worth masking: long enough to be secrets, longest first (so a secret that
    contains another is masked whole)."""
    return sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each whole secret value, and every URL password,
    replaced by ****."""
    for secret in maskable(secrets):
        text = text.replace(secret, MASK)
    return _URL_PASSWORD.sub(rf"\1{MASK}@", text)


class SnapshotCipher:
    def __init__(self, key_path: Path):
        try:
            self._fernet = Fernet(key_path.read_bytes().strip())
        except (OSError, ValueError) as exc:
            raise OpsError(f"cannot read the environment key {key_path}: {exc}") from None

    def seal(self, config: dict[str, str]) -> bytes:
        return self._fernet.encrypt(json.dumps(config, sort_keys=True).encode())

    def open(self, sealed: bytes) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self._fernet.decrypt(sealed))
        except InvalidToken:
            raise OpsError("a configuration snapshot cannot be decrypted with secret.key") from None
        return data
