"""The web app's defences (issue 12): CSRF on every form, security headers, cookies.

In-process app with no backend behind it: a refused form is refused before the backend is
asked, and an accepted one gets as far as asking (a 503 here, since nothing answers).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from jobnaut.config import FrontendSettings
from jobnaut.web.main import create_web_app
from tests.support.processes import free_port
from tests.support.web_client import page_token

SITE = "http://testserver"
SESSION = {"jobnaut_token": "jn_a-session-token"}
# Every form the web app accepts, with what a person would fill in.
FORMS = [
    ("/signin", {"email": "a@example.com", "password": "whatever1"}),
    ("/signup", {"email": "a@example.com", "password": "long enough password"}),
    ("/signout", {}),
    ("/signout-everywhere", {}),
    ("/profile", {"full_name": "Mallory", "skills": "python"}),
    ("/jobs/1/save", {}),
    ("/jobs/1/save", {"next": "/jobs?q=python"}),
    ("/account/password", {"current_password": "old one!", "new_password": "forged password"}),
    ("/account/delete", {"password": "a guessed password"}),
    ("/saved/1/status", {"status": "applied"}),
    ("/saved/1/notes", {"notes": "forged"}),
    ("/saved/1/delete", {}),
    ("/saved/1/restore", {}),
    ("/report", {"page": "/", "message": "forged report"}),
    ("/subscribe", {"email": "victim@example.com"}),
    ("/subscribe/confirm", {"token": "a-token-from-a-mail"}),
    ("/unsubscribe", {"token": "a-token-from-a-mail"}),
]
FORM_IDS = [path + ("?next" if "next" in data else "") for path, data in FORMS]


def web_app(**env: str) -> TestClient:
    settings = FrontendSettings.from_env({
        "API_BASE_URL": f"http://127.0.0.1:{free_port()}", "JOBNAUT_ENV": "development",
        "API_TIMEOUT_SECONDS": "0.5", **env})
    return TestClient(create_web_app(settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def app() -> Iterator[TestClient]:
    with web_app() as client:
        yield client


@pytest.fixture
def browser(app: TestClient) -> Iterator[TestClient]:
    """A signed-in visitor's browser holding the CSRF cookie and a page's token."""
    app.cookies.clear()
    app.cookies.update(SESSION)
    yield app
    app.cookies.clear()


def token(client: TestClient) -> str:
    return page_token(client.get("/signin").text)


@pytest.mark.parametrize(("path", "data"), FORMS, ids=FORM_IDS)
def test_a_form_posted_from_a_foreign_origin_is_403(
    browser: TestClient, path: str, data: dict[str, str]
) -> None:
    # Even with a valid token (say, one leaked) the foreign origin alone is refused.
    response = browser.post(path, data={**data, "csrf_token": token(browser)},
                            headers={"Origin": "https://evil.example"})
    assert response.status_code == 403, response.text
    assert "sent from another site" in response.text.replace("\n", " ")


@pytest.mark.parametrize(("path", "data"), FORMS, ids=FORM_IDS)
def test_a_form_without_its_token_is_403(browser: TestClient, path: str,
                                         data: dict[str, str]) -> None:
    browser.get("/signin")  # the CSRF cookie is there; only the field is missing
    response = browser.post(path, data=data, headers={"Origin": SITE})
    assert response.status_code == 403


@pytest.mark.parametrize(("path", "data"), FORMS, ids=FORM_IDS)
def test_a_form_with_its_token_from_this_site_is_accepted(
    browser: TestClient, path: str, data: dict[str, str]
) -> None:
    response = browser.post(path, data={**data, "csrf_token": token(browser)},
                            headers={"Origin": SITE})
    assert response.status_code != 403, response.text  # on to the (absent) backend


def test_sign_out_everywhere_never_claims_what_an_absent_backend_did_not_do(
        browser: TestClient) -> None:
    response = browser.post("/signout-everywhere", data={"csrf_token": token(browser)},
                            headers={"Origin": SITE}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/profile?notice=signout_everywhere_failed"
    assert "jobnaut_token" not in response.headers.get("set-cookie", "")  # still signed in


def test_login_csrf_from_a_foreign_page_is_refused(app: TestClient) -> None:
    """The attack: a foreign page posts the attacker's credentials to sign the victim in."""
    app.cookies.clear()
    response = app.post("/signin", data={"email": "mallory@example.com", "password": "x" * 9},
                        headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert "jobnaut_token" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("headers", [
    {"Origin": "null"},  # a sandboxed frame or a data: page
    {"Referer": "https://evil.example/page"},
    {"Origin": "http://testserver.evil.example"},
])
def test_other_foreign_sources_are_refused(browser: TestClient,
                                           headers: dict[str, str]) -> None:
    response = browser.post("/profile", data={"csrf_token": token(browser)}, headers=headers)
    assert response.status_code == 403


def test_a_token_from_before_sign_in_is_no_good_after_it(app: TestClient) -> None:
    """The token is bound to the session: one planted or read while signed out (or for
    another session) cannot be used once the visitor is signed in."""
    app.cookies.clear()
    signed_out = token(app)
    app.cookies.update(SESSION)
    response = app.post("/profile", data={"csrf_token": signed_out}, headers={"Origin": SITE})
    assert response.status_code == 403
    app.cookies.clear()


def test_a_token_in_the_header_is_accepted_for_scripts(browser: TestClient) -> None:
    response = browser.post("/saved/1/notes", data={"notes": "x"},
                            headers={"X-CSRF-Token": token(browser), "Origin": SITE,
                                     "Accept": "application/json"})
    assert response.status_code == 503  # through the check, on to the absent backend


def test_a_request_without_origin_or_referer_is_judged_by_its_token(
    browser: TestClient,
) -> None:
    good = browser.post("/profile", data={"csrf_token": token(browser)})
    assert good.status_code != 403
    assert browser.post("/profile", data={"csrf_token": "0" * 64}).status_code == 403


def test_every_post_form_in_the_pages_carries_a_token(app: TestClient) -> None:
    app.cookies.clear()
    html = "".join(app.get(path).text for path in ("/signin", "/signup", "/report",
                                                     "/subscribe", "/unsubscribe?token=t"))
    forms = re.findall(r'<form method="post".*?</form>', html, re.S)
    assert forms and all('name="csrf_token"' in form for form in forms)


# --- item 10: HSTS and Permissions-Policy ------------------------------------------------


def test_pages_carry_a_permissions_policy_and_no_hsts_on_http(app: TestClient) -> None:
    page = app.get("/signin")
    assert "camera=()" in page.headers["permissions-policy"]
    assert "strict-transport-security" not in page.headers


@pytest.mark.parametrize("env", [{"JOBNAUT_ENV": "production"},
                                 {"JOBNAUT_ENV": "staging", "SECURE_COOKIES": "true"}])
def test_a_site_on_https_sends_hsts_and_secure_host_cookies(env: dict[str, str]) -> None:
    with web_app(**env) as client:
        page = client.get("/signin")
    assert page.headers["strict-transport-security"].startswith("max-age=31536000")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("__Host-jobnaut_csrf=") and "Secure" in cookie
