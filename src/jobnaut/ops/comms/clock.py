"""Times as the communication records keep them: ISO 8601 in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobnaut.ops.errors import OpsError


def parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def in_minutes(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_when(when: str | None) -> str | None:
    """An ETA as given: ISO 8601, or minutes from now ("30m", "2h")."""
    if when is None or not when.strip():
        return None
    text = when.strip()
    if text[-1] in "mh" and text[:-1].replace(".", "", 1).isdigit():
        minutes = float(text[:-1]) * (60 if text[-1] == "h" else 1)
        return in_minutes(minutes)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise OpsError(f"cannot read the time {when!r}",
                       hint="ISO 8601 (2026-11-29T14:30Z) or from now: 30m, 2h",
                       exit_code=2) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="seconds")
