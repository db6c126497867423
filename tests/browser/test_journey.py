"""A person's whole journey through JobNaut in real headless Chromium, on the real stack."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import PHONE, open_page
from tests.browser.helpers import (
    PASSWORD,
    has_no_horizontal_overflow,
    new_email,
    result_count,
    sign_up,
)
from tests.browser.stack import Stack

pytestmark = pytest.mark.browser


def card(page: Page, title: str, status: str | None = None) -> Locator:
    """The board card of the job with exactly this title (in one column, if given)."""
    scope = page.locator(f'.column[data-status="{status}"]') if status else page
    link = page.get_by_role("link", name=title, exact=True)
    return scope.locator("[data-card]").filter(has=link)


def test_sign_up_search_save_track_and_edit_profile(page: Page, screenshot_dir: Path) -> None:
    sign_up(page, new_email("journey"))
    # The first-run questions (skills, level, location) can wait: skip them.
    expect(page.get_by_role("heading", name="What are you looking for?")).to_be_visible()
    page.get_by_role("link", name="Skip for now").click()

    # Search from the home page, then narrow it with a filter.
    page.get_by_label("What job are you looking for?").fill("python")
    page.get_by_role("button", name="Search jobs").click()
    expect(page).to_have_url(re.compile(r"/jobs\?q=python"))
    everything = result_count(page)
    assert everything > 0
    page.locator(".filters summary").click()
    page.get_by_label("Remote").select_option("true")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"remote=true"))
    remote_only = result_count(page)
    assert 0 < remote_only < everything
    expect(page.locator(".job-card .tag").first).to_have_text("Remote")
    page.screenshot(path=str(screenshot_dir / "search.png"), full_page=False)

    # Open a job: the description, its skills and the visitor's skill match.
    first = page.locator(".job-card .job-title a").first
    title = first.inner_text()
    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("heading", name="About the job")).to_be_visible()
    expect(page.get_by_role("heading", name="Your skill match")).to_be_visible()
    expect(page.locator(".score-big")).to_have_text(re.compile(r"^\d{1,3}%$"))

    # Save it, then move it to "applied" on the board.
    page.get_by_role("button", name="Save job").click()
    expect(page.get_by_role("status").first).to_have_text("Job saved to your board.")
    expect(page.locator(".saved-state")).to_contain_text("Saved")
    expect(page).not_to_have_url(re.compile(r"notice="))  # a reload does not say it again
    page.reload()
    expect(page.locator(".notice")).to_have_count(0)
    page.get_by_role("link", name="Open my board").click()
    expect(page).to_have_url(re.compile(r"/saved"))
    saved_card = card(page, title)
    expect(saved_card).to_have_count(1)
    expect(card(page, title, "saved")).to_have_count(1)
    saved_card.locator("summary").click()  # compact card: the forms are in its details
    saved_card.get_by_label("Status").select_option("applied")
    saved_card.get_by_role("button", name="Move", exact=True).click()
    expect(card(page, title, "applied")).to_have_count(1)
    expect(saved_card.locator("[data-message]")).to_have_text("Moved to Applied.")
    page.reload()
    expect(card(page, title, "applied")).to_have_count(1)
    expect(card(page, title, "saved")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / "board.png"), full_page=True)

    # Edit the profile; the change survives a reload.
    page.get_by_role("link", name="Profile").click()
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Location").fill("Berlin, Germany")
    page.get_by_label("Experience level").select_option("senior")
    page.get_by_label("Skills").fill("Python, SQL, Docker")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status").first).to_have_text("Your profile is saved.")
    page.reload()
    expect(page.get_by_label("Full name")).to_have_value("Ada Lovelace")
    expect(page.get_by_label("Location")).to_have_value("Berlin, Germany")
    expect(page.get_by_label("Experience level")).to_have_value("senior")
    expect(page.get_by_label("Skills")).to_have_value(re.compile(r"python, sql, docker", re.I))

    # The home page now recommends jobs for those skills.
    page.goto("/")
    expect(page.get_by_role("heading", name="Recommended for you")).to_be_visible()
    expect(page.locator(".card-list .job-card").first).to_be_visible()


def test_board_works_without_javascript(chromium: Browser, stack: Stack) -> None:
    page = open_page(chromium, stack, javascript=False)
    try:
        sign_up(page, new_email("nojs"))
        page.goto("/jobs?q=engineer")
        page.locator(".job-card .job-title a").first.click()
        title = page.get_by_role("heading", level=1).inner_text()
        page.get_by_role("button", name="Save job").click()
        page.goto("/saved")
        saved_card = card(page, title)
        saved_card.locator("summary").click()
        saved_card.get_by_label("Status").select_option("interviewing")
        saved_card.get_by_role("button", name="Move", exact=True).click()
        expect(page.get_by_role("status").first).to_have_text("Card moved.")
        expect(card(page, title, "interviewing")).to_have_count(1)
        saved_card.locator("summary").click()
        saved_card.get_by_label("Notes").fill("Second round on Friday")
        saved_card.get_by_role("button", name="Save notes").click()
        expect(page.get_by_role("status").first).to_have_text("Notes saved.")
        saved_card.locator("summary").click()
        expect(saved_card.get_by_label("Notes")).to_have_value("Second round on Friday")
        saved_card.get_by_role("button", name="Remove from board").click()
        expect(page.get_by_role("status").first).to_have_text("Job removed from your board.")
        expect(page.locator("[data-card]")).to_have_count(0)
        # Undo without JavaScript: a form that puts the card back, notes and all.
        page.get_by_role("button", name="Undo remove").click()
        expect(page.get_by_role("status").first).to_have_text("Job back on your board.")
        expect(card(page, title, "interviewing")).to_have_count(1)
        saved_card.locator("summary").click()
        expect(saved_card.get_by_label("Notes")).to_have_value("Second round on Friday")
    finally:
        page.context.close()


def test_sign_in_with_wrong_password_shows_an_error(page: Page) -> None:
    email = new_email("wrong")
    sign_up(page, email)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status").first).to_have_text("You are signed out.")

    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD + "-not")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Email address")).to_have_value(email)
    assert "jobnaut_token" not in {c["name"] for c in page.context.cookies()}

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status").first).to_have_text("You are signed in.")
    cookie = next(c for c in page.context.cookies() if c["name"] == "jobnaut_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_signed_out_visitor_is_sent_to_sign_in_and_back(page: Page) -> None:
    page.goto("/saved")
    expect(page).to_have_url(re.compile(r"/signin\?next=/saved$"))
    email = new_email("next")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/saved$"))  # the notice shown, then dropped
    expect(page.get_by_role("status").first).to_contain_text("Your account is ready")
    expect(page.get_by_role("heading", name="My board")).to_be_visible()


def test_phone_width_renders_search_without_horizontal_overflow(
    chromium: Browser, stack: Stack, screenshot_dir: Path
) -> None:
    page = open_page(chromium, stack, viewport=PHONE)
    try:
        page.goto("/jobs?q=data&remote=true&skills=python,sql")
        expect(page.locator(".result-count")).to_be_visible()
        expect(page.locator(".filter-chips .chip")).to_have_count(2)  # filters fold to chips
        assert has_no_horizontal_overflow(page)
        assert page.evaluate("() => document.querySelector('meta[name=viewport]') !== null")
        page.screenshot(path=str(screenshot_dir / "search-phone.png"))

        sign_up(page, new_email("phone"))
        page.goto("/jobs?q=engineer")
        page.locator(".job-card .job-title a").first.click()
        assert has_no_horizontal_overflow(page)
        page.get_by_role("button", name="Save job").click()
        page.goto("/saved")
        assert has_no_horizontal_overflow(page)
    finally:
        page.context.close()
