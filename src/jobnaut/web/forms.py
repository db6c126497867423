"""Reading what people type: lenient parsing with messages, never a 422 page of JSON."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date
from urllib.parse import parse_qsl, urlencode

from fastapi import HTTPException

from jobnaut.web.models import SORTS

PER_PAGE = 20
# The currencies the salary filter offers (the jobs' own, ISO 4217).
CURRENCIES = ("EUR", "USD", "GBP")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# Said as the date control shows it (day, month, year in the visitor's own format), not
# as the ISO text the URL carries.
DATE_ERROR = "Enter a real date: day, month and year, or pick one from the calendar."


def checked_id(raw: str) -> str:
    """An id from a URL, safe to put into a backend path; anything else is a 404."""
    if not _ID.match(raw):
        raise HTTPException(status_code=404)
    return raw


def split_skills(raw: str) -> list[str]:
    """'Python, SQL,,docker ' → ['Python', 'SQL', 'docker'] (first spelling kept once)."""
    seen: set[str] = set()
    skills = []
    for part in raw.split(","):
        skill = " ".join(part.split())
        if skill and skill.lower() not in seen:
            seen.add(skill.lower())
            skills.append(skill)
    return skills


@dataclass
class SearchForm:
    """The job search form, as typed (strings), with problems found per field."""

    q: str = ""
    location: str = ""
    remote: str = ""
    salary_min: str = ""
    salary_max: str = ""
    currency: str = ""
    experience_level: str = ""
    skills: str = ""
    posted_since: str = ""
    sort: str = "relevance"
    page: int = 1
    errors: dict[str, str] = field(default_factory=dict)

    FILTERS = ("location", "remote", "salary_min", "salary_max", "currency",
               "experience_level", "skills", "posted_since")

    @classmethod
    def from_query(cls, query: dict[str, str], levels: list[str]) -> SearchForm:
        form = cls()
        for name in {f.name for f in fields(cls)} - {"page", "errors"}:
            value = query.get(name, "").strip()
            if value:
                setattr(form, name, value)
        form.page = _positive_int(query.get("page", "")) or 1
        form._check(levels)
        return form

    def _check(self, levels: list[str]) -> None:
        if self.remote not in ("", "true", "false"):
            self.remote = ""
        if self.sort not in SORTS:
            self.sort = "relevance"
        self.currency = self.currency.upper()
        if self.currency and self.currency not in CURRENCIES:
            self.errors["currency"] = "Choose one of the listed currencies."
        if self.experience_level and self.experience_level not in levels:
            self.errors["experience_level"] = "Choose one of the listed experience levels."
        for name in ("salary_min", "salary_max"):
            value = getattr(self, name)
            if value and _positive_int(value.replace(",", "")) is None:
                self.errors[name] = "Enter a whole number, like 50000."
        low = _positive_int(self.salary_min.replace(",", ""))
        high = _positive_int(self.salary_max.replace(",", ""))
        if low is not None and high is not None and low > high:
            self.errors["salary_max"] = "The maximum salary is below the minimum."
        if self.posted_since:
            try:
                date.fromisoformat(self.posted_since)
            except ValueError:
                self.errors["posted_since"] = DATE_ERROR

    @property
    def has_filters(self) -> bool:
        return any(getattr(self, name) for name in self.FILTERS)

    def api_params(self) -> dict[str, str]:
        """The backend's query parameters; fields with problems are left out."""
        params = {"sort": self.sort, "page": str(self.page), "per_page": str(PER_PAGE)}
        for name in ("q", *self.FILTERS):
            value = getattr(self, name)
            if not value or name in self.errors:
                continue
            if name in ("salary_min", "salary_max"):
                value = value.replace(",", "")
            elif name == "skills":
                value = ",".join(split_skills(value))
            params[name] = value
        return params

    def compares_salaries(self) -> bool:
        """Whether this search filters or sorts by salary (which only means something
        within one currency)."""
        return bool(self.salary_min or self.salary_max or self.sort == "salary")

    def chips(self) -> list[tuple[str, str, str]]:
        """The filters in use, each as (name, value, this search without it): they stand
        for the folded filter form, and each one takes its filter off."""
        chips = []
        for name in self.FILTERS:
            if getattr(self, name) and name not in self.errors:
                without: dict[str, str | int] = {name: "", "page": 1}
                chips.append((name, getattr(self, name), self.query_string(**without)))
        return chips

    def query_string(self, **overrides: str | int) -> str:
        """This search as a /jobs query string (blank fields left out), e.g. for paging."""
        values: dict[str, str | int] = {
            name: getattr(self, name) for name in ("q", *self.FILTERS, "sort")
        }
        values["page"] = self.page
        values.update(overrides)
        kept = {k: v for k, v in values.items() if v not in ("", None)}
        if kept.get("sort") == "relevance":
            kept.pop("sort")
        if kept.get("page") == 1:
            kept.pop("page")
        return urlencode(kept)


def search_href(back: str | None, levels: list[str]) -> str:
    """Where "Back to search" goes: the search a job was opened from (`back`, the results
    page's query string), read again as a search form so only its own fields survive."""
    if not back:
        return "/jobs"
    form = SearchForm.from_query(dict(parse_qsl(back[:2000])), levels)
    query = form.query_string()
    return "/jobs?" + query if query else "/jobs"


def _positive_int(raw: str) -> int | None:
    raw = raw.strip()
    if not raw.isdigit():
        return None
    value = int(raw)
    return value if value >= 1 else None
