"""Debian's Chromium for tests outside tests/browser (whose fixtures own the main thread's
Playwright session)."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS


def in_a_browser(check: Callable[[Page, str], None], url: str) -> None:
    """Run `check` in Debian's Chromium, in a thread of its own: Playwright's sync API
    refuses a thread where another test's event loop may be left behind."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (install the Debian 'chromium' package)")

    def run() -> None:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_default_timeout(15_000)
                check(page, url)
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result()
