"""The web app while its backend is down, in real Chromium at desktop and phone sizes:
the page shell with a banner that links to the status page, the search and the sign-in
form keeping what was typed. The backend is a real process, stopped half-way through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.helpers import PASSWORD, has_no_horizontal_overflow, new_email, sign_up
from tests.browser.stack import Stack, run_backend, run_frontend
from tests.support.processes import stop

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": PHONE}
assert DESKTOP["width"] == SIZES["desktop"]["width"]


@pytest.fixture(scope="module")
def outage(chromium: Browser, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Stack, dict[str, str]]]:
    """A stack whose user signed up while it was up; then the backend process stops."""
    directory = tmp_path_factory.mktemp("outage")
    with run_backend(directory) as backend, run_frontend(backend.url, directory) as frontend:
        stack = Stack(backend=backend, frontend=frontend)
        context = chromium.new_context(base_url=stack.url)
        page = context.new_page()
        sign_up(page, new_email("outage"))
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        context.close()
        stop(backend.proc)
        yield stack, cookies


def _page(chromium: Browser, stack: Stack, size: str, cookies: dict[str, str] | None) -> Page:
    viewport: ViewportSize = SIZES[size]  # type: ignore[assignment]
    context = chromium.new_context(base_url=stack.url, viewport=viewport)
    context.set_default_timeout(15_000)
    if cookies:
        context.add_cookies([{"name": k, "value": v, "url": stack.url} for k, v in cookies.items()])
    return context.new_page()


def _banner_is_shown(page: Page) -> None:
    banner = page.locator(".outage-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("unavailable right now — we're on it")
    expect(banner.get_by_role("link", name="Status page")).to_have_attribute("href", "/status")
    assert has_no_horizontal_overflow(page)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_signed_in_user_keeps_the_shell_and_the_search(
    chromium: Browser, outage: tuple[Stack, dict[str, str]], size: str, screenshot_dir: Path,
) -> None:
    stack, cookies = outage
    page = _page(chromium, stack, size, cookies)
    try:
        response = page.goto("/")
        assert response is not None and response.status == 200
        _banner_is_shown(page)
        expect(page.get_by_role("heading", level=1)).to_have_text("Find jobs that fit your skills")
        page.screenshot(path=str(screenshot_dir / f"outage-home-{size}.png"))

        page.get_by_label("What job are you looking for?").fill("python developer")
        page.get_by_role("button", name="Search jobs").click()
        _banner_is_shown(page)
        expect(page.get_by_label("Keywords")).to_have_value("python developer")
        expect(page.locator(".result-count")).to_contain_text("Your search is kept")

        page.get_by_role("link", name="My board").click()
        _banner_is_shown(page)
        page.get_by_role("link", name="Home page").click()
        expect(page).to_have_url(stack.url + "/")
        _banner_is_shown(page)
    finally:
        page.context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_sign_in_sent_during_the_outage_keeps_the_email(
    chromium: Browser, outage: tuple[Stack, dict[str, str]], size: str,
) -> None:
    stack, _ = outage
    page = _page(chromium, stack, size, None)
    try:
        page.goto("/signin")
        page.get_by_label("Email address").fill("typed@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        _banner_is_shown(page)
        expect(page.get_by_label("Email address")).to_have_value("typed@example.com")
        expect(page.get_by_label("Password")).to_have_value("")
        expect(page.locator(".panel .error-message")).to_contain_text("not answering")
    finally:
        page.context.close()
