"""Accounts and profiles over real HTTP, on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.api.conftest import PASSWORD, ApiUser, unique_email
from tests.support.processes import Service


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


# --- sign-up -----------------------------------------------------------------------------


def test_sign_up_returns_201_with_a_token_that_authenticates(api: httpx.Client) -> None:
    email = unique_email()
    response = api.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["email"] == email
    assert isinstance(body["user"]["id"], int)
    assert body["token"]

    me = api.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == body["user"]["id"]
    assert me.json()["email"] == email


def test_sign_up_with_a_taken_email_is_409(api: httpx.Client, user: ApiUser) -> None:
    response = api.post("/api/auth/signup",
                        json={"email": user.email, "password": "another password"})
    assert_error(response, 409, "email_taken")


def test_sign_up_email_is_case_insensitive(api: httpx.Client, user: ApiUser) -> None:
    response = api.post("/api/auth/signup",
                        json={"email": user.email.upper(), "password": PASSWORD})
    assert_error(response, 409, "email_taken")


def test_short_password_is_422_and_the_body_does_not_echo_it(api: httpx.Client) -> None:
    secret = "Zq7!xk"  # shorter than the 8 characters required
    response = api.post("/api/auth/signup", json={"email": unique_email(), "password": secret})
    error = assert_error(response, 422, "validation_error")
    assert "password" in str(error["message"])
    assert secret not in response.text


def test_sign_up_with_an_invalid_email_is_422(api: httpx.Client) -> None:
    response = api.post("/api/auth/signup", json={"email": "not-an-email", "password": PASSWORD})
    assert_error(response, 422, "validation_error")


# --- sign-in -----------------------------------------------------------------------------


def test_sign_in_with_the_right_password_gives_a_new_working_token(
    api: httpx.Client, user: ApiUser
) -> None:
    response = api.post("/api/auth/signin", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert token != user.token
    assert response.json()["user"] == {"id": user.id, "email": user.email}
    me = api.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["id"] == user.id


def test_sign_in_with_a_wrong_password_is_401(api: httpx.Client, user: ApiUser) -> None:
    response = api.post("/api/auth/signin",
                        json={"email": user.email, "password": "wrong password!"})
    assert_error(response, 401, "bad_credentials")
    assert "wrong password!" not in response.text


def test_sign_in_with_an_unknown_email_is_401_like_a_wrong_password(api: httpx.Client) -> None:
    unknown = api.post("/api/auth/signin",
                       json={"email": unique_email("nobody"), "password": PASSWORD})
    error = assert_error(unknown, 401, "bad_credentials")
    # Same answer as a wrong password, so the endpoint does not reveal which emails exist.
    assert error["message"] == "wrong email or password"


# --- tokens ------------------------------------------------------------------------------


def test_me_without_a_token_is_401(api: httpx.Client) -> None:
    assert_error(api.get("/api/me"), 401, "unauthenticated")


def test_me_with_an_unknown_token_is_401(api: httpx.Client) -> None:
    response = api.get("/api/me", headers={"Authorization": "Bearer jn_not-a-real-token"})
    assert_error(response, 401, "unauthenticated")


@pytest.mark.parametrize("header", [
    "Bearer",
    "Bearer jn_",
    "Basic dXNlcjpwYXNzd29yZA==",
    "Token jn_abc",
    "jn_abc",
    "Bearer not-a-jobnaut-token",
])
def test_malformed_authorization_header_is_401(api: httpx.Client, header: str) -> None:
    assert_error(api.get("/api/me", headers={"Authorization": header}), 401, "unauthenticated")


def test_bearer_scheme_is_case_insensitive(api: httpx.Client, user: ApiUser) -> None:
    response = api.get("/api/me", headers={"Authorization": f"bearer {user.token}"})
    assert response.status_code == 200, response.text


def test_sign_out_revokes_the_token_only(api: httpx.Client, user: ApiUser) -> None:
    other = api.post("/api/auth/signin", json={"email": user.email, "password": PASSWORD})
    other_headers = {"Authorization": f"Bearer {other.json()['token']}"}

    response = api.post("/api/auth/signout", headers=user.headers)
    assert response.status_code == 204, response.text
    assert_error(api.get("/api/me", headers=user.headers), 401, "unauthenticated")
    assert_error(api.post("/api/auth/signout", headers=user.headers), 401, "unauthenticated")
    # Another session of the same account is untouched.
    assert api.get("/api/me", headers=other_headers).status_code == 200


def test_sign_out_without_a_token_is_401(api: httpx.Client) -> None:
    assert_error(api.post("/api/auth/signout"), 401, "unauthenticated")


# --- profile -----------------------------------------------------------------------------


def test_new_account_has_an_empty_profile(api: httpx.Client, user: ApiUser) -> None:
    response = api.get("/api/profile", headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"full_name": None, "location": None, "experience_level": None,
                               "skills": []}


def test_profile_put_then_get_round_trips(api: httpx.Client, user: ApiUser) -> None:
    profile = {"full_name": "Ada Lovelace", "location": "London, United Kingdom",
               "experience_level": "senior", "skills": ["python", "sql"]}
    put = api.put("/api/profile", json=profile, headers=user.headers)
    assert put.status_code == 200, put.text
    assert put.json() == profile
    assert api.get("/api/profile", headers=user.headers).json() == profile
    assert api.get("/api/me", headers=user.headers).json()["profile"] == profile


def test_profile_put_replaces_the_previous_profile(api: httpx.Client, user: ApiUser) -> None:
    api.put("/api/profile", headers=user.headers,
            json={"full_name": "First", "location": "Berlin", "skills": ["go"]})
    second = {"full_name": "Second", "location": None, "experience_level": "entry",
              "skills": ["rust"]}
    assert api.put("/api/profile", json=second, headers=user.headers).status_code == 200
    assert api.get("/api/profile", headers=user.headers).json() == second


def test_profile_skills_keep_their_case_and_are_trimmed_and_deduplicated(
    api: httpx.Client, user: ApiUser
) -> None:
    response = api.put("/api/profile", headers=user.headers, json={
        "skills": ["Python", " python ", "PostgreSQL", "SQL", "sql", "", "  ",
                   "React   Native"],
    })
    assert response.status_code == 200, response.text
    expected = ["Python", "PostgreSQL", "SQL", "React Native"]
    assert response.json()["skills"] == expected
    assert api.get("/api/profile", headers=user.headers).json()["skills"] == expected


@pytest.mark.parametrize("level", ["expert", "Senior", ""])
def test_profile_with_an_invalid_experience_level_is_422(
    api: httpx.Client, user: ApiUser, level: str
) -> None:
    response = api.put("/api/profile", headers=user.headers,
                       json={"full_name": "X", "experience_level": level})
    error = assert_error(response, 422, "validation_error")
    assert "experience_level" in str(error["message"])
    # Nothing was stored.
    assert api.get("/api/profile", headers=user.headers).json()["full_name"] is None


def test_profile_requires_authentication(api: httpx.Client) -> None:
    assert_error(api.get("/api/profile"), 401, "unauthenticated")
    assert_error(api.put("/api/profile", json={"skills": []}), 401, "unauthenticated")


def test_profiles_of_two_users_are_separate(
    api: httpx.Client, new_user: Callable[..., ApiUser]
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    api.put("/api/profile", headers=alice.headers,
            json={"full_name": "Alice", "skills": ["python"]})
    api.put("/api/profile", headers=bob.headers, json={"full_name": "Bob", "skills": ["go"]})
    assert api.get("/api/profile", headers=alice.headers).json()["full_name"] == "Alice"
    assert api.get("/api/profile", headers=alice.headers).json()["skills"] == ["python"]
    assert api.get("/api/profile", headers=bob.headers).json()["full_name"] == "Bob"
    assert api.get("/api/profile", headers=bob.headers).json()["skills"] == ["go"]


def test_concurrent_sign_ups_with_one_email_make_one_account_and_409s(
    api: httpx.Client, backend: Service
) -> None:
    """Issue 12, item 5: the losers of the race got a 500 (IntegrityError) before."""
    from concurrent.futures import ThreadPoolExecutor

    email = unique_email("race")

    def sign_up(_: int) -> httpx.Response:
        with httpx.Client(base_url=backend.url, timeout=30) as client:
            return client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(sign_up, range(6)))
    codes = sorted(r.status_code for r in answers)
    # One account; every other attempt is told the email is taken, or, on a machine so
    # loaded that it waited past the hashing gate's 3 s, to try again (never a 500).
    assert codes.count(201) == 1 and set(codes) <= {201, 409, 503}, codes
    assert all(r.json()["error"]["code"] == "busy" for r in answers if r.status_code == 503)
    assert codes.count(409) >= 1, codes
    assert email not in backend.log_text()
