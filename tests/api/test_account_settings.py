"""Account basics (issue 15): changing the password, deleting the account."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.api.conftest import PASSWORD, ApiUser

NEW_PASSWORD = "a much longer new passphrase"


def sign_in(api: httpx.Client, email: str, password: str) -> httpx.Response:
    return api.post("/api/auth/signin", json={"email": email, "password": password})


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    api: httpx.Client, user: ApiUser
) -> None:
    other = sign_in(api, user.email, PASSWORD).json()["token"]
    wrong = api.post("/api/auth/password", headers=user.headers,
                     json={"current_password": "not it", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "wrong_password"
    weak = api.post("/api/auth/password", headers=user.headers,
                    json={"current_password": PASSWORD, "new_password": "password123"})
    assert weak.status_code == 422
    assert weak.json()["error"]["fields"][0]["field"] == "new_password"
    assert api.get("/api/me", headers=user.headers).status_code == 200  # nothing changed

    changed = api.post("/api/auth/password", headers=user.headers,
                       json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"revoked": 1}
    assert api.get("/api/me", headers=user.headers).status_code == 200  # this session stays
    assert api.get("/api/me", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    assert sign_in(api, user.email, PASSWORD).status_code == 401
    assert sign_in(api, user.email, NEW_PASSWORD).status_code == 200


def test_deleting_the_account_needs_the_password_and_takes_its_data(
    api: httpx.Client, new_user: Callable[..., ApiUser]
) -> None:
    user, bystander = new_user("deleted"), new_user("bystander")
    job = api.get("/api/jobs", params={"per_page": 1}).json()["items"][0]
    for someone in (user, bystander):
        saved = api.post("/api/saved", headers=someone.headers,
                         json={"job_id": job["id"], "notes": "call back"})
        assert saved.status_code == 201
    api.put("/api/profile", headers=user.headers, json={"location": "Berlin"})

    refused = api.post("/api/account/delete", headers=user.headers, json={"password": "no"})
    assert refused.status_code == 403
    assert api.get("/api/saved", headers=user.headers).json()["items"]

    deleted = api.post("/api/account/delete", headers=user.headers,
                       json={"password": PASSWORD})
    assert deleted.status_code == 200, deleted.text
    body = deleted.json()
    assert body["deleted"] == {"saved_jobs": 1, "sessions": 1}
    assert "backups" in body["recoverable"]
    assert api.get("/api/me", headers=user.headers).status_code == 401
    assert sign_in(api, user.email, PASSWORD).status_code == 401
    # Someone else's card of the same job is untouched; the address is free again.
    assert len(api.get("/api/saved", headers=bystander.headers).json()["items"]) == 1
    again = api.post("/api/auth/signup", json={"email": user.email, "password": PASSWORD})
    assert again.status_code == 201
    fresh = {"Authorization": f"Bearer {again.json()['token']}"}
    assert api.get("/api/saved", headers=fresh).json()["items"] == []
    assert api.get("/api/profile", headers=fresh).json()["location"] is None


def test_account_changes_need_a_session(api: httpx.Client) -> None:
    assert api.post("/api/auth/password", json={"current_password": "x",
                                                "new_password": NEW_PASSWORD}).status_code == 401
    assert api.post("/api/account/delete", json={"password": "x"}).status_code == 401
