"""The end-to-end tests' secrets scan: no secret of an environment may appear in any
command's output, in any log, or in any file of its home that others may read.

Files only the owner can read (mode 0600: the snapshot key, env files handed to services)
are where secrets belong; the app's own database holds them only encrypted or hashed."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path
from urllib.parse import urlsplit

from jobnaut.config import SECRET_KEYS
from jobnaut.ops.context import Env

SKIPPED_DIRS = ("builds",)  # the releases' code: no environment's secret is in it
# Test constants that are passwords, wherever a test typed one.
KNOWN_PASSWORDS = ("correct horse battery staple",)


def environment_secrets(home: Path) -> set[str]:
    """Every secret value of every configuration snapshot the environment ever had."""
    env = Env.open(home)
    with sqlite3.connect(env.home.ledger_path) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM configs")]
    found: set[str] = set(KNOWN_PASSWORDS)
    for config_id in ids:
        for name, value in env.config_of(config_id).items():
            if name not in SECRET_KEYS or not value.strip():
                continue
            if "://" in value:  # a URL (DATABASE_URL, SMTP_URL): its secret is the password
                password = urlsplit(value.strip()).password
                if password:
                    found.add(password)
                continue
            found.add(value.strip())
            found.update(part.strip() for part in value.split(",") if len(part.strip()) > 8)
    return found


def leaks(home: Path, outputs: list[str]) -> list[str]:
    """Where a secret shows: 'output #3', or a file path (relative to the home)."""
    secrets = environment_secrets(home)
    where: list[str] = []
    for n, text in enumerate(outputs):
        if any(s in text for s in secrets):
            where.append(f"output #{n}: {text[:200]!r}")
    for path in home.rglob("*"):
        relative = path.relative_to(home)
        if not path.is_file() or path.is_symlink() or relative.parts[0] in SKIPPED_DIRS:
            continue
        if stat.S_IMODE(path.stat().st_mode) & 0o077 == 0 and "logs" not in relative.parts:
            continue  # owner-only: a place for secrets (logs never are)
        data = path.read_bytes()
        if any(s.encode() in data for s in secrets):
            where.append(str(relative))
    return where
