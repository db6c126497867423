"""Browser fixtures: the real stack and headless Chromium (the Debian package)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.browser.stack import Stack, run_stack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with run_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"{CHROMIUM} is missing (install the Debian 'chromium' package)"
        print(f"skipping browser tests: {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(
    chromium: Browser, stack: Stack, *, viewport: ViewportSize = DESKTOP,
    javascript: bool = True,
) -> Page:
    context = chromium.new_context(
        base_url=stack.url, viewport=viewport, java_script_enabled=javascript
    )
    context.set_default_timeout(15_000)
    return context.new_page()


@pytest.fixture
def page(chromium: Browser, stack: Stack) -> Iterator[Page]:
    """A fresh browser context (no cookies) in a desktop-sized window."""
    new_page = open_page(chromium, stack)
    yield new_page
    new_page.context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: JOBNAUT_SCREENSHOT_DIR if set, else a temporary folder."""
    chosen = os.environ.get("JOBNAUT_SCREENSHOT_DIR")
    directory = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory
