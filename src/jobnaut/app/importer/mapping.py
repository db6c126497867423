"""Pure mapping of a JSearch posting (a JSON object) onto the fields of a Job."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jobnaut.app.jobs.demo import ROLES
from jobnaut.app.types import http_url_or_none

SOURCE = "jsearch"

# Salaries are stored per year, so that one salary filter compares like with like.
_PER_YEAR = {"YEAR": 1, "MONTH": 12, "WEEK": 52, "DAY": 260, "HOUR": 2080}

# Every skill the demo roles know; descriptions are scanned for these when a posting
# lists no skills of its own.
SKILL_VOCABULARY: tuple[str, ...] = tuple(sorted({s for skills in ROLES.values() for s in skills}))


def _skill_pattern(skill: str) -> re.Pattern[str]:
    if skill == "go":  # "go" is also an English verb: only the language's names count
        return re.compile(r"(?<!\w)(?:Go|Golang|golang)(?!\w)")
    return re.compile(rf"(?<!\w){re.escape(skill)}(?!\w)", re.IGNORECASE)


_SKILL_PATTERNS = [(skill, _skill_pattern(skill)) for skill in SKILL_VOCABULARY]


class InvalidPosting(ValueError):
    """A posting lacks what a job needs (an id or a title)."""


@dataclass(frozen=True)
class MappedJob:
    external_id: str
    title: str
    company: str
    location: str
    remote: bool
    salary_min: int | None
    salary_max: int | None
    currency: str
    experience_level: str
    description: str
    url: str | None
    posted_at: datetime
    skills: tuple[str, ...]
    source: str = SOURCE

    def columns(self) -> dict[str, object]:
        """The Job column values (everything but the skills)."""
        return {
            "source": self.source, "external_id": self.external_id, "title": self.title,
            "company": self.company, "location": self.location, "remote": self.remote,
            "salary_min": self.salary_min, "salary_max": self.salary_max,
            "currency": self.currency, "experience_level": self.experience_level,
            "description": self.description, "url": self.url, "posted_at": self.posted_at,
        }


def map_posting(raw: Mapping[str, Any], *, now: datetime | None = None) -> MappedJob:
    external_id = _text(raw.get("job_id"))
    title = _text(raw.get("job_title"))
    if not external_id:
        raise InvalidPosting("posting has no job_id")
    if not title:
        raise InvalidPosting(f"posting {external_id[:60]} has no job_title")
    description = _text(raw.get("job_description"))
    salary_min, salary_max = salary_range(raw)
    return MappedJob(
        external_id=external_id[:200],
        title=title[:300],
        company=(_text(raw.get("employer_name")) or "Unknown employer")[:200],
        location=location(raw)[:200],
        remote=raw.get("job_is_remote") is True,
        salary_min=salary_min,
        salary_max=salary_max,
        currency=_currency(raw.get("job_salary_currency")),
        experience_level=experience_level(raw.get("job_required_experience")),
        description=description,
        url=http_url_or_none(_text(raw.get("job_apply_link"))),
        posted_at=posted_at(raw, now=now),
        skills=skills(raw.get("job_required_skills"), description),
    )


def experience_level(required: object) -> str:
    """<24 months entry, <60 mid, <120 senior, else lead; mid when not stated."""
    months = required.get("required_experience_in_months") if isinstance(required, dict) else None
    if isinstance(months, bool) or not isinstance(months, int | float):
        return "mid"
    if months < 24:
        return "entry"
    if months < 60:
        return "mid"
    if months < 120:
        return "senior"
    return "lead"


def location(raw: Mapping[str, Any]) -> str:
    """"City, State" (or "City, Country" when there is no distinct state)."""
    city, state, country = (_text(raw.get(k)) for k in ("job_city", "job_state", "job_country"))
    region = state if state and state.lower() != city.lower() else country
    parts = [p for p in (city, region) if p]
    if not parts and country:
        parts = [country]
    if parts:
        return ", ".join(parts)
    return "Remote" if raw.get("job_is_remote") is True else "Unknown"


def skills(listed: object, description: str) -> tuple[str, ...]:
    """The posting's own skills lower-cased, else the known skills its description names."""
    if isinstance(listed, list):
        found = [s.strip().lower()[:80] for s in listed if isinstance(s, str) and s.strip()]
        if found:
            return tuple(dict.fromkeys(found))
    return tuple(skill for skill, pattern in _SKILL_PATTERNS if pattern.search(description))


def salary_range(raw: Mapping[str, Any]) -> tuple[int | None, int | None]:
    factor = _PER_YEAR.get(_text(raw.get("job_salary_period")).upper() or "YEAR", 1)
    low, high = (_yearly(raw.get(k), factor) for k in ("job_min_salary", "job_max_salary"))
    if low is not None and high is not None and low > high:
        low, high = high, low
    return low, high


def posted_at(raw: Mapping[str, Any], *, now: datetime | None = None) -> datetime:
    value = _text(raw.get("job_posted_at_datetime_utc"))
    if value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    stamp = _number(raw.get("job_posted_at_timestamp"))
    if stamp is not None:
        try:
            return datetime.fromtimestamp(stamp, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return now or datetime.now(UTC)


def _yearly(value: object, factor: int) -> int | None:
    amount = _number(value)
    if amount is None or amount * factor > 100_000_000:  # absurd, or would overflow
        return None
    return round(amount * factor)


def _currency(value: object) -> str:
    text = _text(value).upper()
    return text if len(text) == 3 and text.isalpha() else "USD"


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value < 0 or value == float("inf"):  # NaN, negative, infinite
        return None
    return float(value)
