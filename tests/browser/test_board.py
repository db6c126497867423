"""The saved-jobs board in real Chromium: one horizontal pipeline of compact cards at
1280x800, drag and drop, the keyboard alternative, one column at a time behind tabs with
counts at 390x844, remove with undo, and history with times."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from tests.browser.conftest import PHONE
from tests.browser.helpers import has_no_horizontal_overflow, new_email, sign_up
from tests.browser.stack import Stack

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
STATUSES = ["saved", "applied", "interviewing", "offer", "rejected", "withdrawn"]


def _board_page(chromium: Browser, stack: Stack, viewport: ViewportSize,
                jobs: int = 3) -> tuple[Page, list[str]]:
    """A new user with `jobs` saved jobs (saved through the API), on the board; each as
    "SAVED_ID|TITLE" (demo titles repeat, ids do not)."""
    context = chromium.new_context(base_url=stack.url, viewport=viewport)
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_up(page, new_email("board"))
    token = next(c["value"] for c in context.cookies() if c["name"] == "jobnaut_token")
    headers = {"Authorization": f"Bearer {token}"}
    found = httpx.get(stack.backend.url + "/api/jobs",
                      params={"q": "engineer", "per_page": str(jobs)}).json()["items"]
    titles = []
    for job in found:
        saved = httpx.post(stack.backend.url + "/api/saved", headers=headers,
                           json={"job_id": job["id"], "notes": f"note for {job['id']}"})
        assert saved.status_code == 201, saved.text
        titles.append(f"{saved.json()['id']}|{job['title']}")
    page.goto("/saved")
    return page, titles


@pytest.fixture
def desktop(chromium: Browser, stack: Stack) -> Iterator[tuple[Page, list[str]]]:
    page, titles = _board_page(chromium, stack, DESKTOP)
    yield page, titles
    page.context.close()


@pytest.fixture
def phone(chromium: Browser, stack: Stack) -> Iterator[tuple[Page, list[str]]]:
    page, titles = _board_page(chromium, stack, PHONE)
    yield page, titles
    page.context.close()


def column(page: Page, status: str) -> Locator:
    return page.locator(f'.column[data-status="{status}"]')


def card(page: Page, saved: str) -> Locator:
    return page.locator(f"#card-{saved.split('|')[0]}")



def test_desktop_is_one_pipeline_of_compact_cards(
    desktop: tuple[Page, list[str]], screenshot_dir: Path,
) -> None:
    page, titles = desktop
    page.screenshot(path=str(screenshot_dir / "board-desktop.png"))
    tops = {column(page, s).bounding_box()["y"] for s in STATUSES}  # type: ignore[index]
    assert len(tops) == 1, "all six columns in one row"
    expect(page.locator(".board-tabs")).to_be_hidden()
    assert has_no_horizontal_overflow(page)
    for title in titles:
        box = card(page, title).bounding_box()
        assert box is not None and box["height"] < 165, box  # half the old 330 px
        expect(card(page, title).get_by_label("Notes")).to_be_hidden()
    expect(column(page, "saved").locator("[data-count]")).to_have_text("3")

    # Details on demand: notes and a history with times.
    first = card(page, titles[0])
    first.locator("summary").click()
    expect(first.get_by_label("Notes")).to_have_value(re.compile(r"^note for "))
    expect(first.locator(".history li").first).to_have_text(
        re.compile(r"\d{1,2} \w{3} \d{4}, \d{2}:\d{2} UTC: Saved"))


def test_drag_a_card_to_another_column(desktop: tuple[Page, list[str]]) -> None:
    page, titles = desktop
    moving = card(page, titles[1])
    moving.drag_to(column(page, "interviewing"))
    expect(column(page, "interviewing").locator("[data-card]")).to_have_count(1)
    expect(column(page, "interviewing").locator(card(page, titles[1]))).to_have_count(1)
    expect(column(page, "saved").locator("[data-count]")).to_have_text("2")
    expect(column(page, "interviewing").locator("[data-count]")).to_have_text("1")
    expect(page.locator("[data-board-message]")).to_contain_text("to Interviewing")
    page.reload()  # it was the server that moved it
    expect(column(page, "interviewing").locator(card(page, titles[1]))).to_have_count(1)
    moved = card(page, titles[1])
    moved.locator("summary").click()
    expect(moved.locator(".history li")).to_have_count(2)
    expect(moved.locator(".history li").last).to_contain_text("Saved → Interviewing")


def test_keyboard_alone_moves_a_card(desktop: tuple[Page, list[str]]) -> None:
    page, titles = desktop
    target = card(page, titles[2])
    target.locator("summary").focus()
    page.keyboard.press("Enter")  # opens the details
    page.keyboard.press("Tab")
    expect(target.get_by_label("Status")).to_be_focused()
    target.get_by_label("Status").select_option("offer")  # a select, as a keyboard sets it
    page.keyboard.press("Tab")
    expect(target.get_by_role("button", name="Move", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(column(page, "offer").locator(card(page, titles[2]))).to_have_count(1)
    expect(target.locator("[data-message]")).to_have_text("Moved to Offer.")


def test_remove_then_undo_brings_the_card_back_with_its_notes(
    desktop: tuple[Page, list[str]],
) -> None:
    page, titles = desktop
    gone = card(page, titles[0])
    gone.locator("summary").click()
    gone.get_by_role("button", name="Remove from board").click()
    expect(card(page, titles[0])).to_have_count(0)
    message = page.locator("[data-board-message]")
    expect(message).to_contain_text("Removed")
    expect(column(page, "saved").locator("[data-count]")).to_have_text("2")
    message.get_by_role("button", name="Undo").click()
    expect(message).to_contain_text("is back on your board")
    expect(column(page, "saved").locator("[data-count]")).to_have_text("3")
    page.reload()
    back = card(page, titles[0])
    back.locator("summary").click()
    expect(back.get_by_label("Notes")).to_have_value(re.compile(r"^note for "))


def test_phone_shows_one_column_at_a_time_with_tabs_and_counts(
    phone: tuple[Page, list[str]], screenshot_dir: Path,
) -> None:
    page, titles = phone
    tabs = page.get_by_role("navigation", name="Board stages")
    expect(tabs).to_be_visible()
    expect(tabs.get_by_role("link", name="Saved 3")).to_have_attribute("aria-current", "page")
    expect(column(page, "saved")).to_be_visible()
    for status in STATUSES[1:]:
        expect(column(page, status)).to_be_hidden()
    assert has_no_horizontal_overflow(page)
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height < 1200, height  # three compact cards, not every empty column stacked
    page.screenshot(path=str(screenshot_dir / "board-phone.png"), full_page=True)

    moving = card(page, titles[0])
    moving.locator("summary").click()
    moving.get_by_label("Status").select_option("applied")
    moving.get_by_role("button", name="Move", exact=True).click()
    expect(tabs.get_by_role("link", name="Applied 1")).to_be_visible()
    expect(tabs.get_by_role("link", name="Saved 2")).to_be_visible()
    tabs.get_by_role("link", name="Applied 1").click()
    expect(column(page, "applied")).to_be_visible()
    expect(column(page, "saved")).to_be_hidden()
    expect(column(page, "applied").locator(card(page, titles[0]))).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/saved\?column=applied$"))
    page.reload()  # the tab is in the URL, so a reload keeps the place
    expect(column(page, "applied")).to_be_visible()
    for box in page.locator(".board-tabs a").all():
        size = box.bounding_box()
        assert size is not None and size["height"] >= 24 and size["width"] >= 24
