"""Keeping the user's place in search (issue 15), in real Chromium: on a phone the first
result is on the first screen with filters set; a result card saves without a page load;
a notice is not repeated by a reload; Back to search comes back to the same search."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, open_page
from tests.browser.helpers import has_no_horizontal_overflow, new_email, sign_up
from tests.browser.stack import Stack

pytestmark = pytest.mark.browser

FILTERED = "/jobs?q=engineer&remote=true&experience_level=senior&skills=python"


@pytest.fixture
def member(chromium: Browser, stack: Stack) -> Iterator[Page]:
    page = open_page(chromium, stack)
    sign_up(page, new_email("place"))
    page.get_by_label("Your skills").fill("Python, SQL, Docker")
    page.get_by_label("Experience level").select_option("senior")
    page.get_by_label("Where you live or want to work").fill("Berlin")
    page.get_by_role("button", name="Show me jobs that fit").click()
    expect(page.get_by_role("heading", name="Recommended for you")).to_be_visible()
    yield page
    page.context.close()


def test_on_a_phone_the_first_result_is_on_the_first_screen(
    chromium: Browser, stack: Stack,
) -> None:
    page = open_page(chromium, stack, viewport=PHONE)
    try:
        page.goto(FILTERED)
        chips = page.locator(".filter-chips .chip")
        expect(chips).to_have_count(3)
        first = page.locator(".job-card").first
        expect(first).to_be_visible()
        box = first.bounding_box()
        assert box is not None and box["y"] + 80 < PHONE["height"], box  # its title shows
        assert has_no_horizontal_overflow(page)

        # The filters open as a sheet over the page, and the results stay where they were.
        page.locator(".filters summary").click()
        sheet = page.locator(".filter-sheet")
        expect(sheet).to_be_visible()
        assert sheet.evaluate("e => getComputedStyle(e).position") == "fixed"
        assert first.bounding_box() == box

        # A chip takes its filter off.
        page.locator(".filters summary").click()
        chips.filter(has_text="Remote only").click()
        expect(page).to_have_url(re.compile(r"/jobs\?q=engineer&experience_level=senior"
                                            r"&skills=python$"))
    finally:
        page.context.close()


def test_a_result_card_saves_without_reloading_the_page(member: Page) -> None:
    member.goto("/jobs?q=engineer&page=2")
    expect(member.locator(".job-card .score").first).to_have_text(re.compile(r"^\d+% match$"))
    member.evaluate("() => { window.notReloaded = true; }")
    card = member.locator(".job-card").nth(2)
    title = card.locator(".job-title a").inner_text()
    card.get_by_role("button", name=re.compile(r"^Save")).click()
    expect(card.locator(".saved-state")).to_have_text("Saved to your board")
    assert member.evaluate("() => window.notReloaded") is True
    assert member.url.endswith("/jobs?q=engineer&page=2")
    member.goto("/saved")
    expect(member.locator(".board-card .job-title").filter(has_text=title)).to_have_count(1)


def test_a_notice_is_not_repeated_by_a_reload(member: Page) -> None:
    member.goto("/jobs?q=data")
    member.locator(".job-card .job-title a").first.click()
    member.get_by_role("button", name="Save job").click()
    expect(member.locator(".notice")).to_have_text("Job saved to your board.")
    expect(member).not_to_have_url(re.compile("notice="))
    member.reload()
    expect(member.locator(".notice")).to_have_count(0)


def test_back_to_search_keeps_query_filters_and_page(member: Page) -> None:
    search = "/jobs?q=engineer&location=Berlin&page=2"
    member.goto(search)
    member.locator(".job-card .job-title a").first.click()
    member.get_by_role("link", name="← Back to search").click()
    expect(member).to_have_url(re.compile(re.escape(search) + "$"))
    expect(member.get_by_label("Keywords")).to_have_value("engineer")
    expect(member.locator(".pagination [aria-current=page]")).to_have_text("2")


def test_saving_without_javascript_comes_back_to_the_card(
    chromium: Browser, stack: Stack, member: Page,
) -> None:
    page = member.context.new_page()
    page.context.route("**/static/save.js", lambda route: route.abort())
    page.goto("/jobs?q=designer")
    card = page.locator(".job-card").nth(1)
    card_id = card.get_attribute("id")
    card.get_by_role("button", name=re.compile(r"^Save")).click()
    expect(page).to_have_url(re.compile(rf"/jobs\?q=designer#{card_id}$"))
    expect(page.locator(f"#{card_id} .saved-state")).to_contain_text("your board")
    page.close()


def test_a_wide_screen_opens_a_job_beside_the_list(
    chromium: Browser, stack: Stack, screenshot_dir: Path,
) -> None:
    page = open_page(chromium, stack, viewport={"width": 1600, "height": 900})
    try:
        page.goto("/jobs?q=engineer&page=3")
        pane = page.locator("#detail-pane")
        expect(pane).to_be_hidden()
        cards = page.locator(".job-card")
        second = cards.nth(1).locator(".job-title a")
        title = second.inner_text()
        second.click()
        expect(pane.locator(".job-detail-title")).to_have_text(title)
        expect(pane.get_by_role("heading", name="About the job")).to_be_visible()
        assert page.url.endswith("/jobs?q=engineer&page=3")  # the list keeps its place
        list_box, pane_box = cards.first.bounding_box(), pane.bounding_box()
        assert list_box and pane_box and pane_box["x"] > list_box["x"] + list_box["width"]
        expect(second).to_have_attribute("aria-current", "true")
        page.screenshot(path=str(screenshot_dir / "search-list-detail.png"))
        # The next job replaces it, one click away.
        third = cards.nth(2).locator(".job-title a")
        third.click()
        expect(pane.locator(".job-detail-title")).to_have_text(third.inner_text())
        # A narrow window keeps the plain link to the job's page.
        page.set_viewport_size({"width": 1280, "height": 800})
        cards.first.locator(".job-title a").click()
        expect(page).to_have_url(re.compile(r"/jobs/\d+\?back="))
    finally:
        page.context.close()
