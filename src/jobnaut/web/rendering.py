"""Templates, the filters they use, and one `render` helper for every page."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from jobnaut.web import csrf
from jobnaut.web.models import JobSummary
from jobnaut.web.session import current_path, token_of

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# Fixed confirmations a redirect may ask a page to show (`?notice=key`); only these
# texts can appear, so the query string cannot put words on the page.
NOTICES = {
    "welcome": "Welcome to JobNaut! Your account is ready.",
    "signed_in": "You are signed in.",
    "signed_out": "You are signed out.",
    "signed_out_everywhere": "You are signed out on every device.",
    "signout_everywhere_failed": "We could not sign you out on your other devices right "
                                 "now. Nothing changed; please try again in a minute.",
    "profile_saved": "Your profile is saved.",
    "job_saved": "Job saved to your board.",
    "already_saved": "That job is already on your board.",
    "moved": "Card moved.",
    "notes_saved": "Notes saved.",
    "unsaved": "Job removed from your board.",
    "restored": "Job back on your board.",
    "password_changed": "Your password is changed, and every other session of your "
                        "account is signed out.",
    "account_deleted": "Your account and everything in it are deleted. If that was a "
                       "mistake, write to us soon: our backups still hold it for a while.",
    "report_sent": "Thank you: your report is recorded. We look at every one.",
}

STATUS_LABELS = {
    "saved": "Saved",
    "applied": "Applied",
    "interviewing": "Interviewing",
    "offer": "Offer",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
}

LEVEL_LABELS = {"entry": "Entry level", "mid": "Mid level", "senior": "Senior", "lead": "Lead"}

CURRENCY_SIGNS = {"EUR": "€", "USD": "$", "GBP": "£"}


def money(amount: int | None, currency: str | None) -> str:
    if amount is None:
        return ""
    sign = CURRENCY_SIGNS.get((currency or "").upper())
    text = f"{amount:,}"
    if sign:
        return sign + text
    return f"{text} {currency}" if currency else text


def salary(job: JobSummary) -> str:
    low, high = job.salary_min, job.salary_max
    if low is None and high is None:
        return ""
    if low is not None and high is not None and low != high:
        return f"{money(low, job.currency)} – {money(high, job.currency)}"
    if low is None:
        return "up to " + money(high, job.currency)
    if high is None:
        return "from " + money(low, job.currency)
    return money(low, job.currency)


def day(value: datetime | date | None) -> str:
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y}"


def moment(value: datetime | None) -> str:
    """A time to the minute, in UTC as the API gives it: '29 Nov 2026, 14:05 UTC'."""
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


def score_class(score: int | float | None) -> str:
    """Green only for a good match: a 0 % score is not a success."""
    value = score or 0
    return "score-high" if value >= 70 else "score-mid" if value >= 40 else "score-low"


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", (status or "").replace("_", " ").capitalize())


def level_label(level: str | None) -> str:
    return LEVEL_LABELS.get(level or "", (level or "").capitalize())


_CHIP_TEXTS = {
    "location": "in {}", "salary_min": "salary from {}", "salary_max": "salary up to {}",
    "skills": "skills: {}", "posted_since": "posted since {}", "currency": "paid in {}",
}


def chip_text(name: str, value: str) -> str:
    """A filter in use, said short: "Remote only", "Senior", "in Berlin"."""
    if name == "remote":
        return "Remote only" if value == "true" else "On site only"
    if name == "experience_level":
        return level_label(value)
    return _CHIP_TEXTS.get(name, name + ": {}").format(value)


# What a part of the match means, in words (the API gives 0-1 per part; ADR 0014).
FIT_WORDS = {
    "level": ((1.0, "your level"), (0.5, "one step from your level"), (0.0, "not your level")),
    "location": ((1.0, "in your city"), (0.8, "remote"), (0.5, "in your country or state"),
                 (0.0, "elsewhere")),
}


def fit_words(part: str, value: float) -> str:
    return next(words for floor, words in FIT_WORDS[part] if value >= floor)


LOGO_COLOURS = 8


def initials(company: str | None) -> str:
    """A company's stand-in logo: "Acme Analytics" → "AA", "Bluefin" → "BL"."""
    words = [w for w in (company or "").split() if w[:1].isalnum()]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[1][0]).upper()


def logo_class(company: str | None) -> str:
    """One of a few colours, the same for a company on every page and every machine."""
    return f"logo-{sum((company or '').encode()) % LOGO_COLOURS}"


def http_url(value: str | None) -> str:
    """A link to show only if it is an http(s) URL (never javascript: or data:)."""
    if value and value.strip().lower().startswith(("http://", "https://")):
        return value.strip()
    return ""


def _page_context(request: Request) -> dict[str, Any]:
    notice_key = request.query_params.get("notice", "")
    return {
        "signed_in": token_of(request) is not None,
        "current_path": current_path(request),
        "notice": NOTICES.get(notice_key),
        "csrf_token": csrf.form_token(request),
    }


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR), context_processors=[_page_context])
    env = templates.env
    env.filters["salary"] = salary
    env.filters["money"] = money
    env.filters["day"] = day
    env.filters["moment"] = moment
    env.filters["score_class"] = score_class
    env.filters["status_label"] = status_label
    env.filters["level_label"] = level_label
    env.filters["http_url"] = http_url
    env.filters["initials"] = initials
    env.filters["logo_class"] = logo_class
    env.globals["chip_text"] = chip_text
    env.globals["fit_words"] = fit_words
    env.globals["status_labels"] = STATUS_LABELS
    env.globals["level_labels"] = LEVEL_LABELS
    return templates


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, template, context or {},
                                          status_code=status_code)
    csrf.remember(request, response)
    return response
