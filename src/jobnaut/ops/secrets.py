"""Configuration snapshots are stored encrypted with a key kept in the home (mode 0600)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from jobnaut.ops.errors import OpsError


def create_key(path: Path) -> None:
    if path.exists():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(Fernet.generate_key())


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
