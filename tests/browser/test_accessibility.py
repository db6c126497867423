"""Accessibility in real Chromium: an axe-core scan of every page (0 serious or critical
violations), and the checks axe does not make: focus ring and input border contrast
(>= 3:1), aria-current in the navigation, 24 px touch targets on a phone, /favicon.ico.

axe-core comes from the axe-playwright-python package (its bundled axe.min.js)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import PHONE
from tests.browser.helpers import new_email, sign_up
from tests.browser.stack import Stack

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
SERIOUS = {"serious", "critical"}
AXE = Axe()


def serious_violations(page: Page) -> list[str]:
    response: dict[str, Any] = AXE.run(page).response
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n["target"][0] for n in v["nodes"][:3])
            for v in response["violations"] if v.get("impact") in SERIOUS]


@pytest.fixture(scope="module")
def member(chromium: Browser, stack: Stack) -> Iterator[list[dict[str, Any]]]:
    """The cookies of a user with a profile and a saved job."""
    context = chromium.new_context(base_url=stack.url)
    page = context.new_page()
    sign_up(page, new_email("a11y"))
    token = next(c["value"] for c in context.cookies() if c["name"] == "jobnaut_token")
    headers = {"Authorization": f"Bearer {token}"}
    job = httpx.get(stack.backend.url + "/api/jobs", params={"q": "python"}).json()["items"][0]
    httpx.post(stack.backend.url + "/api/saved", headers=headers, json={"job_id": job["id"]})
    httpx.put(stack.backend.url + "/api/profile", headers=headers,
              json={"full_name": "Ada", "location": "Berlin", "experience_level": "senior",
                    "skills": ["python", "sql"]})
    cookies = context.cookies()
    context.close()
    yield cookies


def _page(chromium: Browser, stack: Stack, viewport: ViewportSize,
          cookies: list[dict[str, Any]] | None = None) -> Page:
    context = chromium.new_context(base_url=stack.url, viewport=viewport)
    context.set_default_timeout(15_000)
    if cookies:
        context.add_cookies(cookies)  # type: ignore[arg-type]
    return context.new_page()


PUBLIC = ["/", "/jobs?q=python", "/jobs?q=python&remote=true&experience_level=senior",
          "/signin?next=/saved", "/jobs?q=python&salary_min=lots&posted_since=2026-13-40",
          "/jobs/1", "/signin", "/signup", "/no-such-page", "/report?page=/jobs",
          "/subscribe", "/subscribe/confirm?token=abc", "/unsubscribe?token=abc"]
MEMBER = ["/", "/jobs?q=python", "/jobs/1", "/saved", "/saved?column=applied", "/profile",
          "/welcome", "/account"]


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_page_has_no_serious_axe_violations(
    chromium: Browser, stack: Stack, member: list[dict[str, Any]], size: str,
) -> None:
    viewport = DESKTOP if size == "desktop" else PHONE
    found: dict[str, list[str]] = {}
    for cookies, paths in ((None, PUBLIC), (member, MEMBER)):
        page = _page(chromium, stack, viewport, cookies)
        try:
            for path in paths:
                page.goto(path)
                if path == "/saved":
                    page.locator("[data-card] summary").first.click()  # details open too
                problems = serious_violations(page)
                if problems:
                    found[("member " if cookies else "") + path] = problems
            if not cookies:  # a form with errors
                page.goto("/signup")
                page.evaluate("() => document.querySelectorAll('form').forEach("
                              "f => { f.noValidate = true; })")  # the server's errors
                page.get_by_label("Email address").fill("not-an-email")
                page.get_by_label("Password").fill("short")
                page.get_by_role("button", name="Create account").click()
                expect(page.locator(".field-error").first).to_be_visible()
                if problems := serious_violations(page):
                    found["/signup (errors)"] = problems
        finally:
            page.context.close()
    assert found == {}


def test_the_scan_does_find_a_serious_violation(chromium: Browser, stack: Stack) -> None:
    """The check above would pass vacuously if axe did not run: here it must complain."""
    page = _page(chromium, stack, DESKTOP)
    try:
        page.goto("/signin")
        page.evaluate("() => { document.querySelector('label[for=email]').remove(); }")
        assert any(v.startswith("label ") for v in serious_violations(page))
    finally:
        page.context.close()


def _rgb(css: str) -> tuple[float, float, float]:
    found = re.findall(r"[\d.]+", css)
    return float(found[0]), float(found[1]), float(found[2])


def contrast(a: str, b: str) -> float:
    def luminance(css: str) -> float:
        channels = [c / 255 for c in _rgb(css)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_focus_ring_and_input_borders_have_3_to_1_contrast(
    chromium: Browser, stack: Stack,
) -> None:
    page = _page(chromium, stack, DESKTOP)
    try:
        page.goto("/jobs?q=python")
        ground = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        field = page.get_by_label("Keywords")
        border = field.evaluate("e => getComputedStyle(e).borderTopColor")
        inside = field.evaluate("e => getComputedStyle(e).backgroundColor")
        assert contrast(border, inside) >= 3, (border, inside)
        page.keyboard.press("Tab")  # the skip link, then into the page by keyboard
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, s.outlineColor, s.outlineWidth]; }")
        assert focused[0] != "none" and float(focused[2].rstrip("px")) >= 2
        for background in (ground, "rgb(255, 255, 255)"):
            assert contrast(focused[1], background) >= 3, (focused, background)
    finally:
        page.context.close()


def test_navigation_marks_the_current_page(
    chromium: Browser, stack: Stack, member: list[dict[str, Any]],
) -> None:
    page = _page(chromium, stack, DESKTOP, member)
    nav = page.get_by_role("navigation", name="Main")
    try:
        for path, name in (("/jobs?q=x", "Find jobs"), ("/saved", "My board"),
                           ("/profile", "Profile"), ("/jobs/1", "Find jobs")):
            page.goto(path)
            expect(nav.locator('[aria-current="page"]')).to_have_count(1)
            expect(nav.locator('[aria-current="page"]')).to_have_text(name)
        page.goto("/")
        expect(nav.locator("[aria-current]")).to_have_count(0)
    finally:
        page.context.close()


TARGETS = (".site-header a, .site-header button, main button, main select, main summary, "
           "main input:not([type=hidden]), .board-tabs a, .link-row a, .site-footer a")


@pytest.mark.parametrize("signed_in", [False, True])
def test_touch_targets_are_at_least_24_px_on_a_phone(
    chromium: Browser, stack: Stack, member: list[dict[str, Any]], signed_in: bool,
) -> None:
    page = _page(chromium, stack, PHONE, member if signed_in else None)
    small: list[str] = []
    try:
        for path in (MEMBER if signed_in else PUBLIC):
            page.goto(path)
            small += [f"{path}: {item}" for item in page.evaluate(
                """selector => [...document.querySelectorAll(selector)]
                     .filter(e => e.offsetParent !== null)
                     .map(e => [e, e.getBoundingClientRect()])
                     .filter(([e, r]) => r.width < 24 || r.height < 24)
                     .map(([e, r]) => `${e.outerHTML.slice(0, 60)} ${r.width}x${r.height}`)""",
                TARGETS)]
    finally:
        page.context.close()
    assert small == []


def test_favicon_is_served(stack: Stack) -> None:
    icon = httpx.get(stack.url + "/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert '<link rel="icon" href="/favicon.ico">' in httpx.get(stack.url + "/signin").text
