"""What a new password must not be: too common, or the account's own email."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_LIST = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    lines = _LIST.read_text().splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def password_problem(password: str, email: str) -> str | None:
    """Why `password` is refused for an account with `email`, or None when it is fine.
    The message never repeats the password."""
    lowered = password.strip().lower()
    local = email.lower().partition("@")[0]
    if lowered in common_passwords():
        return "this password is one of the most common ones; choose another"
    if len(set(lowered)) <= 2:
        return "this password repeats one or two characters; choose another"
    if lowered in (email.lower(), local):
        return "the password must not be your email address"
    return None
