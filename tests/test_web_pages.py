"""The frontend over real HTTP, against a real backend process (fresh SQLite + demo jobs)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.browser.stack import Stack, run_frontend, run_stack
from tests.support.web_client import WebClient, page_token

PASSWORD = "correct horse battery"
UNAVAILABLE = "JobNaut&#39;s job service is not answering right now."


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with run_stack(tmp_path_factory.mktemp("web")) as running:
        yield running


@pytest.fixture
def visitor(stack: Stack) -> Iterator[httpx.Client]:
    """A signed-out visitor (a cookie jar of their own)."""
    with WebClient(base_url=stack.url, timeout=10) as client:
        yield client


@pytest.fixture
def user(stack: Stack) -> Iterator[httpx.Client]:
    """A visitor who has just signed up through the sign-up form."""
    with WebClient(base_url=stack.url, timeout=10) as client:
        response = client.post("/signup", data={"email": new_email(), "password": PASSWORD})
        assert response.status_code == 303, response.text
        yield client


def new_email() -> str:
    return f"web-{uuid.uuid4().hex[:10]}@example.com"


def texts(html: str, css_class: str) -> list[str]:
    return re.findall(rf'class="{css_class}"[^>]*>\s*([^<]*?)\s*<', html)


def result_count(html: str) -> int:
    found = re.search(r"([\d,]+) jobs? found", html)
    assert found, html
    return int(found.group(1).replace(",", ""))


def first_job_id(client: httpx.Client, query: str = "q=engineer") -> str:
    html = client.get(f"/jobs?{query}").text
    found = re.search(r'class="job-title"><a href="/jobs/(\d+)[?"]', html)
    assert found, html
    return found.group(1)


# -- service endpoints ----------------------------------------------------------------------


def test_health_ready_and_version(visitor: httpx.Client) -> None:
    assert visitor.get("/health").json() == {"status": "ok"}
    ready = visitor.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"backend": "ok"}}
    assert visitor.get("/version").json() == {
        "service": "frontend", "release": "dev", "commit": "unknown",
    }


def test_pages_carry_security_headers_and_static_assets_are_served(
    visitor: httpx.Client,
) -> None:
    page = visitor.get("/")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<meta name="viewport"' in page.text
    css = visitor.get("/static/style.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert visitor.get("/static/board.js").status_code == 200


# -- signed out ----------------------------------------------------------------------------


def test_public_pages_render_for_a_visitor(visitor: httpx.Client) -> None:
    home = visitor.get("/")
    assert home.status_code == 200
    assert 'action="/jobs"' in home.text and "Recommended for you" not in home.text
    for path in ("/signin", "/signup"):
        page = visitor.get(path)
        assert page.status_code == 200
        assert '<label for="email">Email address</label>' in page.text

    search = visitor.get("/jobs")
    assert search.status_code == 200
    assert result_count(search.text) > 0

    job_id = first_job_id(visitor)
    detail = visitor.get(f"/jobs/{job_id}")
    assert detail.status_code == 200
    assert "About the job" in detail.text
    assert f"/signin?next=/jobs/{job_id}" in detail.text
    assert "Your skill match" not in detail.text and "Save job" not in detail.text


@pytest.mark.parametrize("path", ["/saved", "/profile"])
def test_signed_out_visitor_is_redirected_to_sign_in(visitor: httpx.Client, path: str) -> None:
    response = visitor.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/signin?next={path}"


def test_saving_while_signed_out_asks_to_sign_in_first(visitor: httpx.Client) -> None:
    job_id = first_job_id(visitor)
    response = visitor.post(f"/jobs/{job_id}/save")
    assert response.status_code == 303
    assert response.headers["location"] == f"/signin?next=/jobs/{job_id}"


def test_unknown_job_and_unknown_page_render_plain_404s(visitor: httpx.Client) -> None:
    missing = visitor.get("/jobs/99999999")
    assert missing.status_code == 404
    assert "Job not found." in missing.text
    odd = visitor.get("/jobs/not%20an%20id")
    assert odd.status_code == 404
    nowhere = visitor.get("/no-such-page")
    assert nowhere.status_code == 404 and "We could not find that page." in nowhere.text


# -- search --------------------------------------------------------------------------------


def test_search_filters_narrow_the_results(visitor: httpx.Client) -> None:
    everything = result_count(visitor.get("/jobs?q=python").text)
    remote = visitor.get("/jobs?q=python&remote=true&sort=newest")
    assert remote.status_code == 200
    assert 0 < result_count(remote.text) < everything
    assert '<option value="true" selected>Remote only</option>' in remote.text
    paid = visitor.get("/jobs?q=python&salary_min=150000&experience_level=lead")
    assert 0 < result_count(paid.text) < everything


def test_search_pages_keep_the_query(visitor: httpx.Client) -> None:
    html = visitor.get("/jobs?q=engineer&remote=true").text
    assert re.search(r'href="/jobs\?q=engineer&amp;remote=true&amp;page=2" rel="next"', html)
    second = visitor.get("/jobs?q=engineer&remote=true&page=2")
    assert "page 2 of" in second.text


def test_bad_filter_values_are_explained_not_crashed_on(visitor: httpx.Client) -> None:
    response = visitor.get("/jobs?salary_min=lots&posted_since=yesterday&experience_level=guru")
    assert response.status_code == 200
    errors = texts(response.text, "field-error")
    assert "Enter a whole number, like 50000." in errors
    assert "Enter a real date: day, month and year, or pick one from the calendar." in errors
    assert "Choose one of the listed experience levels." in errors
    reversed_range = visitor.get("/jobs?salary_min=90000&salary_max=50000")
    assert "The maximum salary is below the minimum." in reversed_range.text
    too_many = ",".join(f"skill{n}" for n in range(30))  # the backend allows 20
    refused = visitor.get(f"/jobs?skills={too_many}")
    assert refused.status_code == 422
    assert 'class="error-message" role="alert">Invalid search' in refused.text
    assert 'name="skills"' in refused.text


# -- accounts ------------------------------------------------------------------------------


def test_sign_up_sets_an_http_only_lax_cookie(visitor: httpx.Client) -> None:
    response = visitor.post(
        "/signup", data={"email": new_email(), "password": PASSWORD, "next": "/jobs"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/jobs?notice=welcome"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("jobnaut_token=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # development; production adds it


def test_sign_up_errors_from_the_backend_are_shown(visitor: httpx.Client) -> None:
    email = new_email()
    assert visitor.post("/signup", data={"email": email, "password": PASSWORD}).is_redirect
    visitor.cookies.clear()
    again = visitor.post("/signup", data={"email": email, "password": PASSWORD})
    assert again.status_code == 409
    assert "An account with this email already exists." in again.text
    short = visitor.post("/signup", data={"email": new_email(), "password": "short"})
    assert short.status_code == 422
    assert "Choose a password of at least 8 characters." in short.text


def test_sign_in_rejects_a_wrong_password_and_ignores_foreign_next(
    visitor: httpx.Client,
) -> None:
    email = new_email()
    visitor.post("/signup", data={"email": email, "password": PASSWORD})
    visitor.cookies.clear()
    wrong = visitor.post("/signin", data={"email": email, "password": "not the password"})
    assert wrong.status_code == 401
    assert "Wrong email or password." in texts(wrong.text, "error-message")
    assert "set-cookie" not in wrong.headers
    right = visitor.post(
        "/signin", data={"email": email, "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert right.status_code == 303
    assert right.headers["location"] == "/?notice=signed_in"


def test_sign_out_clears_the_cookie(user: httpx.Client) -> None:
    response = user.post("/signout")
    assert response.status_code == 303
    assert 'jobnaut_token=""' in response.headers["set-cookie"]
    assert user.get("/saved").status_code == 303


def test_sign_out_everywhere_ends_the_other_devices_sessions_too(stack: Stack) -> None:
    email = new_email()
    with WebClient(base_url=stack.url, timeout=10) as phone, \
            WebClient(base_url=stack.url, timeout=10) as laptop:
        assert phone.post("/signup", data={"email": email, "password": PASSWORD}) \
            .status_code == 303
        assert laptop.post("/signin", data={"email": email, "password": PASSWORD}) \
            .status_code == 303
        assert laptop.get("/saved").status_code == 200
        profile = phone.get("/profile")
        assert 'action="/signout-everywhere"' in profile.text
        response = phone.post("/signout-everywhere")
        assert response.status_code == 303
        assert response.headers["location"] == "/?notice=signed_out_everywhere"
        assert phone.get("/saved").status_code == 303
        assert laptop.get("/saved").status_code == 303  # the other device is signed out too


def test_a_token_the_backend_refuses_signs_the_visitor_out(visitor: httpx.Client) -> None:
    visitor.cookies.set("jobnaut_token", "not-a-real-token")
    response = visitor.get("/saved")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/saved"
    assert 'jobnaut_token=""' in response.headers["set-cookie"]


# -- signed in -----------------------------------------------------------------------------


def test_profile_edits_persist(user: httpx.Client) -> None:
    form = {"full_name": "Grace Hopper", "location": "Lisbon, Portugal",
            "experience_level": "lead", "skills": "Python, SQL, , python, Go"}
    saved = user.post("/profile", data=form)
    assert saved.status_code == 303
    assert saved.headers["location"] == "/profile?notice=profile_saved"
    page = user.get("/profile?notice=profile_saved").text
    assert "Your profile is saved." in page
    assert 'value="Grace Hopper"' in page and 'value="Lisbon, Portugal"' in page
    assert '<option value="lead" selected>' in page
    assert 'value="Python, SQL, Go"' in page  # as written, once each
    assert "private, no-store" in user.get("/profile").headers["cache-control"]


def test_profile_rejects_an_unknown_level(user: httpx.Client) -> None:
    response = user.post("/profile", data={"experience_level": "wizard", "skills": "x"})
    assert response.status_code == 422
    assert "Choose one of the listed experience levels." in response.text


def test_home_recommends_jobs_for_the_profile(user: httpx.Client) -> None:
    user.post("/profile", data={"skills": "python, sql, docker"})
    home = user.get("/")
    assert "Recommended for you" in home.text
    assert re.search(r"\d+% match", home.text)


def test_job_detail_shows_the_match_and_saving_moves_through_the_board(
    user: httpx.Client,
) -> None:
    user.post("/profile", data={"skills": "python"})
    job_id = first_job_id(user, "q=python")
    detail = user.get(f"/jobs/{job_id}").text
    assert "Your skill match" in detail and "Save job" in detail
    assert re.search(r'score-big score-(high|mid|low)">\d{1,3}%<', detail)
    assert "python" in detail.split("Skills you have")[1].split("Skills to learn")[0]

    saved = user.post(f"/jobs/{job_id}/save")
    assert saved.headers["location"] == f"/jobs/{job_id}?notice=job_saved"
    detail = user.get(saved.headers["location"]).text
    assert "Job saved to your board." in detail and "On your board as" in detail
    again = user.post(f"/jobs/{job_id}/save")
    assert again.headers["location"] == f"/jobs/{job_id}?notice=already_saved"

    board = user.get("/saved").text
    card_id = re.search(r'id="card-(\d+)"', board)
    assert card_id, board
    card = card_id.group(1)
    assert re.search(r'data-status="saved">\s*<h2[^>]*>Saved <span class="count" data-count>1',
                     board)

    moved = user.post(f"/saved/{card}/status", data={"status": "applied"})
    assert moved.headers["location"] == f"/saved?notice=moved&column=applied#card-{card}"
    board = user.get("/saved").text
    assert re.search(r'data-status="applied">\s*<h2[^>]*>Applied <span class="count" '
                     r"data-count>1", board)

    # The enhanced (fetch) path answers JSON.
    as_json = user.post(f"/saved/{card}/notes", data={"notes": "Ask about the team"},
                        headers={"Accept": "application/json"})
    assert as_json.status_code == 200
    assert as_json.json()["notes"] == "Ask about the team"
    assert as_json.json()["status"] == "applied"
    bad = user.post(f"/saved/{card}/status", data={"status": "hired"},
                    headers={"Accept": "application/json"})
    assert bad.status_code == 422

    removed = user.post(f"/saved/{card}/delete")
    assert removed.headers["location"] == f"/saved?notice=unsaved&removed={card}"
    assert f'id="card-{card}"' not in user.get("/saved").text
    undo_form = f'action="/saved/{card}/restore"'
    assert undo_form in user.get(removed.headers["location"]).text
    assert "restore" not in user.get("/saved?removed=1%22%3E%3Cscript%3E").text  # ids only
    restored = user.post(f"/saved/{card}/restore")
    assert restored.headers["location"] == f"/saved?notice=restored&column=applied#card-{card}"
    assert f'id="card-{card}"' in user.get("/saved").text
    assert user.post(f"/saved/{card}/restore").status_code == 404  # not removed any more


def test_another_users_card_cannot_be_moved(user: httpx.Client, stack: Stack) -> None:
    job_id = first_job_id(user)
    user.post(f"/jobs/{job_id}/save")
    card = re.search(r'id="card-(\d+)"', user.get("/saved").text)
    assert card
    with WebClient(base_url=stack.url, timeout=10) as other:
        other.post("/signup", data={"email": new_email(), "password": PASSWORD})
        response = other.post(f"/saved/{card.group(1)}/status", data={"status": "offer"})
        assert response.status_code == 404
        assert "error-message" in response.text


def test_production_marks_the_session_cookie_secure(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp("production")
    with run_frontend(stack.backend.url, directory, JOBNAUT_ENV="production") as frontend:
        form = httpx.get(f"{frontend.url}/signup")
        csrf_cookie = form.headers["set-cookie"]
        # A Secure cookie is not sent back over plain HTTP: pass it on by hand.
        response = httpx.post(
            f"{frontend.url}/signup",
            data={"email": new_email(), "password": PASSWORD,
                  "csrf_token": page_token(form.text)},
            headers={"Origin": frontend.url, "Cookie": csrf_cookie.split(";")[0]})
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-jobnaut_token=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert csrf_cookie.startswith("__Host-jobnaut_csrf=") and "Secure" in csrf_cookie


def test_only_a_good_match_is_shown_in_green() -> None:
    from jobnaut.web.rendering import score_class
    assert [score_class(n) for n in (0, None, 39, 40, 69, 70, 100)] == [
        "score-low", "score-low", "score-low", "score-mid", "score-mid", "score-high",
        "score-high"]


# -- matching and keeping the user's place (issue 15) --------------------------------------


def scores(html: str) -> list[tuple[str, int]]:
    return [(cls, int(n)) for cls, n in
            re.findall(r'class="score (score-\w+)">(\d+)% match<', html)]


def test_search_results_show_the_match_once_the_profile_says_something(
    user: httpx.Client,
) -> None:
    assert scores(user.get("/jobs?q=engineer").text) == []  # an empty profile: no claim
    user.post("/profile", data={"skills": "python, sql, docker", "experience_level": "senior",
                                "location": "Berlin"})
    shown = scores(user.get("/jobs?q=engineer").text)
    assert len(shown) == 20
    assert len({n for _, n in shown}) > 1, "scores tell the jobs apart"
    for cls, n in shown:  # green only for a good match, never for 0 %
        assert cls == ("score-high" if n >= 70 else "score-mid" if n >= 40 else "score-low")


def test_a_visitor_sees_no_scores_and_no_save_buttons(visitor: httpx.Client) -> None:
    html = visitor.get("/jobs?q=engineer").text
    assert scores(html) == [] and "save-form" not in html


def test_saving_from_a_result_card_comes_back_to_the_same_search(user: httpx.Client) -> None:
    search = "q=engineer&remote=true&page=2"
    html = user.get(f"/jobs?{search}").text
    job_id = re.findall(r'id="job-(\d+)"', html)[3]
    assert f'action="/jobs/{job_id}/save"' in html
    assert f'name="next" value="/jobs?{search.replace("&", "&amp;")}"' in html

    saved = user.post(f"/jobs/{job_id}/save", data={"next": f"/jobs?{search}"})
    assert saved.headers["location"] == f"/jobs?{search}&notice=job_saved#job-{job_id}"
    again = user.get(saved.headers["location"]).text
    assert "Job saved to your board." in again
    card = again.split(f'id="job-{job_id}"')[1].split("</article>")[0]
    assert "On <a href=\"/saved\">your board</a>" in card and "save-form" not in card

    twice = user.post(f"/jobs/{job_id}/save", data={"next": f"/jobs?{search}"},
                      headers={"Accept": "application/json"})
    assert twice.status_code == 409  # the fetch path: JSON, no page
    elsewhere = user.post(f"/jobs/{job_id}/save", data={"next": "https://evil.example/"})
    assert elsewhere.headers["location"] == f"/jobs/{job_id}?notice=already_saved"


def test_a_result_card_saves_with_fetch_as_json(user: httpx.Client) -> None:
    job_id = first_job_id(user, "q=data")
    response = user.post(f"/jobs/{job_id}/save", data={"next": "/jobs?q=data"},
                         headers={"Accept": "application/json"})
    assert response.status_code == 201
    assert str(response.json()["job"]["id"]) == job_id


def test_back_to_search_keeps_the_query_filters_and_page(visitor: httpx.Client) -> None:
    search = "q=engineer&location=Berlin&experience_level=senior&page=2"
    html = visitor.get(f"/jobs?{search}").text
    link = re.search(r'class="job-title"><a href="(/jobs/\d+\?back=[^"]+)"', html)
    assert link, html
    detail = visitor.get(link.group(1).replace("&amp;", "&")).text
    back = re.search(r'<a href="([^"]*)">← Back to search', detail)
    assert back and back.group(1).replace("&amp;", "&") == f"/jobs?{search}"
    # Only search fields come back, re-encoded: nothing else can be put in the link.
    odd = visitor.get(link.group(1).split("?")[0] + "?back=notice%3Dwelcome%26x%3D%22%3E").text
    assert '<a href="/jobs">← Back to search' in odd


def test_filters_in_use_fold_into_chips_that_each_take_one_off(visitor: httpx.Client) -> None:
    html = visitor.get("/jobs?q=data&remote=true&experience_level=senior").text
    assert '<details class="filters">' in html  # folded: the results come first
    chips = dict(re.findall(r'<a href="([^"]*)" class="chip">([^<]*)<', html))
    assert chips == {"/jobs?q=data&amp;experience_level=senior": "Remote only",
                     "/jobs?q=data&amp;remote=true": "Senior"}
    assert '<details class="filters" open>' in visitor.get("/jobs?salary_min=lots").text


@pytest.mark.parametrize(("path", "reason"), [
    ("/saved", "Sign in to see your saved jobs."),
    ("/profile", "Sign in to see and edit your profile."),
    ("/jobs/12", "Sign in to save this job and see how well your skills match."),
])
def test_sign_in_says_why_the_visitor_was_sent_there(
    visitor: httpx.Client, path: str, reason: str,
) -> None:
    sent = visitor.get(path)
    if path.startswith("/jobs/"):
        sent = visitor.post(f"{path}/save")
    page = visitor.get(sent.headers["location"])
    assert f'<p class="sign-in-reason" role="status">{reason}</p>' in page.text
    assert "sign-in-reason" not in visitor.get("/signin").text


def test_sign_up_asks_for_skills_level_and_location_first(visitor: httpx.Client) -> None:
    response = visitor.post("/signup", data={"email": new_email(), "password": PASSWORD})
    assert response.headers["location"] == "/welcome?notice=welcome"
    page = visitor.get(response.headers["location"]).text
    assert "Your account is ready" in page and "What are you looking for?" in page
    assert 'href="/">Skip for now' in page
    done = visitor.post("/profile", data={
        "onboarding": "1", "next": "/", "skills": "Python, SQL",
        "experience_level": "senior", "location": "Berlin"})
    assert done.headers["location"] == "/?notice=profile_saved"
    home = visitor.get("/").text
    assert re.search(r"\d+% match", home)
    job = re.search(r'<a href="/jobs/(\d+)">', home)
    assert job, home
    detail = visitor.get(f"/jobs/{job.group(1)}").text
    assert "match with your profile's skills, level and location." in detail
    assert re.search(r"<li>Level: (your level|one step from your level|not your level)</li>",
                     detail)
    assert re.search(r"<li>Location: (in your city|remote|in your country or state|elsewhere)"
                     r"</li>", detail)
    bad = visitor.post("/profile", data={"onboarding": "1", "experience_level": "wizard"})
    assert bad.status_code == 422 and "What are you looking for?" in bad.text


def test_password_change_needs_the_current_one_and_signs_out_other_devices(
    stack: Stack,
) -> None:
    email = new_email()
    with WebClient(base_url=stack.url, timeout=30) as here, \
            WebClient(base_url=stack.url, timeout=30) as there:
        here.post("/signup", data={"email": email, "password": PASSWORD})
        there.post("/signin", data={"email": email, "password": PASSWORD})
        assert "Change your password" in here.get("/account").text
        wrong = here.post("/account/password", data={"current_password": "nope",
                                                    "new_password": "another long one"})
        assert wrong.status_code == 403
        assert "That is not your current password." in wrong.text
        short = here.post("/account/password", data={"current_password": PASSWORD,
                                                    "new_password": "short"})
        assert short.status_code == 422 and "at least 8 characters" in short.text
        done = here.post("/account/password", data={"current_password": PASSWORD,
                                                   "new_password": "another long one"})
        assert done.headers["location"] == "/account?notice=password_changed"
        assert here.get("/saved").status_code == 200  # this device stays signed in
        assert there.get("/saved").headers["location"] == "/signin?next=/saved"


def test_deleting_the_account_asks_for_the_password_and_says_what_is_kept(
    stack: Stack,
) -> None:
    email = new_email()
    with WebClient(base_url=stack.url, timeout=30) as client:
        client.post("/signup", data={"email": email, "password": PASSWORD})
        page = client.get("/account").text
        assert "backups taken before now still hold your" in page
        wrong = client.post("/account/delete", data={"password": "nope"})
        assert wrong.status_code == 403 and "nothing was deleted" in wrong.text
        assert client.get("/saved").status_code == 200
        gone = client.post("/account/delete", data={"password": PASSWORD})
        assert gone.headers["location"] == "/?notice=account_deleted"
        assert 'jobnaut_token=""' in gone.headers["set-cookie"]
        assert "our backups still hold it" in client.get(gone.headers["location"]).text
        refused = client.post("/signin", data={"email": email, "password": PASSWORD})
        assert refused.status_code == 401


def test_account_settings_need_a_sign_in_and_say_why(visitor: httpx.Client) -> None:
    sent = visitor.get("/account")
    assert sent.headers["location"] == "/signin?next=/account"
    assert "Sign in to manage your account." in visitor.get(sent.headers["location"]).text


def test_salaries_compare_within_one_currency(visitor: httpx.Client) -> None:
    mixed = visitor.get("/jobs?q=engineer&sort=salary").text
    assert "Salaries here are in EUR and USD" in mixed
    euros = visitor.get("/jobs?q=engineer&sort=salary&currency=eur&salary_min=90000").text
    assert "currency-hint" not in euros
    assert '<option value="EUR" selected>EUR</option>' in euros
    amounts = re.findall(r"<span>([€$£])[\d,]+ – ", euros)
    assert amounts and set(amounts) == {"€"}
    assert ">paid in EUR<" in euros
    assert "Choose one of the listed currencies." in visitor.get("/jobs?currency=ZZZ").text
