"""The communication settings of `jobnaut.toml`: `[notify]` (timings) and `[contacts]` (the
plan's Contact Information: who is told what, and who is escalated to).

Channel addresses are not here: they hold tokens and passwords, so they are stored
encrypted in the ledger (`jobnaut notify add`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any

from jobnaut.ops.environment import CONFIG_NAME, Home
from jobnaut.ops.errors import OpsError

AUDIENCES = ("team", "stakeholders", "users", "escalation")
IMPACTS = ("none", "minor", "major", "critical")
COMPONENTS = {
    "api": "API",
    "web": "Web app",
    "database": "Database",
    "sign_in": "Sign-in",
    "search": "Job search",
    "saved_jobs": "Saved jobs",
}


@dataclass(frozen=True)
class Contact:
    key: str
    role: str
    name: str
    email: str | None
    phone: str | None
    audiences: tuple[str, ...]
    impacts: tuple[str, ...]

    def receives(self, audience: str, impact: str) -> bool:
        return audience in self.audiences and impact in self.impacts


@dataclass(frozen=True)
class NotifySettings:
    escalate_after_minutes: float = 15.0  # unacknowledged incident -> escalation contacts
    update_every_minutes: float = 30.0  # the next public update is due this long after one
    max_attempts: int = 6  # per notice, with backoff, before it is recorded as failed
    status_url: str | None = None  # the public status page, linked from every notice
    contacts: tuple[Contact, ...] = field(default_factory=tuple)

    def contacts_for(self, audience: str, impact: str) -> list[Contact]:
        return [c for c in self.contacts if c.receives(audience, impact) and c.email]


NOTIFY_KEYS = ("escalate_after_minutes", "update_every_minutes", "max_attempts", "status_url")
CONTACT_KEYS = ("role", "name", "email", "phone", "audiences", "impacts")


def load(home: Home) -> NotifySettings:
    path = home.root / CONFIG_NAME
    raw = tomllib.loads(path.read_text())
    try:
        return parse(raw)
    except (TypeError, ValueError) as exc:
        raise OpsError(f"{path}: invalid setting: {exc}", exit_code=2) from None


def parse(raw: dict[str, Any]) -> NotifySettings:
    notify = dict(raw.get("notify", {}))
    _refuse_unknown("[notify]", notify, NOTIFY_KEYS)
    contacts = tuple(_contact(key, dict(value))
                     for key, value in dict(raw.get("contacts", {})).items())
    settings = NotifySettings(
        escalate_after_minutes=float(notify.get("escalate_after_minutes", 15)),
        update_every_minutes=float(notify.get("update_every_minutes", 30)),
        max_attempts=int(notify.get("max_attempts", 6)),
        status_url=notify.get("status_url") or None,
        contacts=contacts,
    )
    if settings.escalate_after_minutes <= 0 or settings.update_every_minutes <= 0:
        raise ValueError("[notify] minutes must be positive")
    if settings.max_attempts < 1:
        raise ValueError("[notify] max_attempts must be at least 1")
    return settings


def _contact(key: str, section: dict[str, Any]) -> Contact:
    _refuse_unknown(f"[contacts.{key}]", section, CONTACT_KEYS)
    audiences = tuple(section.get("audiences", ["team"]))
    impacts = tuple(section.get("impacts", IMPACTS))
    for audience in audiences:
        if audience not in AUDIENCES:
            raise ValueError(f"[contacts.{key}] unknown audience {audience!r} "
                             f"(one of {', '.join(AUDIENCES)})")
    for impact in impacts:
        if impact not in IMPACTS:
            raise ValueError(f"[contacts.{key}] unknown impact {impact!r} "
                             f"(one of {', '.join(IMPACTS)})")
    email = section.get("email") or None
    if email is not None and ("@" not in email or any(c in email for c in " ,;<>\n")):
        raise ValueError(f"[contacts.{key}] email {email!r} is not one address")
    if "name" not in section:
        raise ValueError(f"[contacts.{key}] needs a name")
    return Contact(key=key, role=str(section.get("role", key)), name=str(section["name"]),
                   email=email, phone=section.get("phone") or None, audiences=audiences,
                   impacts=impacts)


def _refuse_unknown(where: str, section: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(section) - set(known))
    if unknown:
        raise ValueError(f"unknown {where} setting {', '.join(unknown)} "
                         f"(known: {', '.join(known)})")
