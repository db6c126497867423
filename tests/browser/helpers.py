"""Small steps the browser tests share."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

PASSWORD = "correct horse battery"


def new_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def sign_up(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/signup")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status").first).to_contain_text("Your account is ready")


def result_count(page: Page) -> int:
    text = page.locator(".result-count").inner_text()
    found = re.search(r"([\d,]+) jobs? found", text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def has_no_horizontal_overflow(page: Page) -> bool:
    return bool(page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth"
        " && document.body.scrollWidth <= window.innerWidth"
    ))
