"""Bounded input types shared by the API schemas.

Every number a client sends is bounded, so that nothing it sends can overflow a 64-bit
database column (an `OverflowError` at bind time, a 500), and the bounds show in the
OpenAPI document. Every text must be encodable as UTF-8: JSON can carry a lone surrogate
("\\ud800") that Python accepts but no database or serializer can store.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, BeforeValidator, Field

# The largest id every database holds: the id columns are INTEGER, 32-bit on PostgreSQL
# (64-bit on SQLite). A larger id cannot exist, and PostgreSQL refuses to compare an int4
# column with it ("integer out of range"), which was a 500.
MAX_ID = 2**31 - 1
# A salary above a billion a year is a typo or a probe, not a job.
MAX_SALARY = 1_000_000_000


def utf8_text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


Text = Annotated[str, AfterValidator(utf8_text)]

# Strict: a JSON `true` or `"7"` is not an id a client meant to send.
IdValue = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="a positive 32-bit id")]
Salary = Annotated[int, Field(ge=0, le=MAX_SALARY)]

def http_url_or_none(value: str | None) -> str | None:
    """An apply link as clients may follow it: http(s) with a host, else nothing. A
    `javascript:` or `data:` link from a job feed would run in whoever clicks it."""
    if not value:
        return None
    text = value.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or rest[0] in "/\\":
        return None
    if len(text) > 2000 or any(ord(ch) < 33 for ch in text):
        return None
    return text


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(value: object) -> object:
    # Lax date parsing reads `0` as 1970-01-01; only a YYYY-MM-DD text is a date here.
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]
