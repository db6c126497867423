"""Saved jobs, the application pipeline, and isolation between users."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import ApiUser


@pytest.fixture
def job_ids(api: httpx.Client) -> list[int]:
    response = api.get("/api/jobs", params={"per_page": 5, "sort": "newest"})
    assert response.status_code == 200
    return [job["id"] for job in response.json()["items"]]


def save(api: httpx.Client, user: ApiUser, job_id: int, notes: str | None = None
         ) -> dict[str, Any]:
    response = api.post("/api/saved", headers=user.headers,
                        json={"job_id": job_id, "notes": notes})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def transitions(saved: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["from_status"], e["to_status"]) for e in saved["events"]]


# --- saving ------------------------------------------------------------------------------


def test_save_a_job_is_201_with_a_saved_event(
    api: httpx.Client, user: ApiUser, job_ids: list[int]
) -> None:
    saved = save(api, user, job_ids[0], notes="Ask about the on-call rota")
    assert saved["status"] == "saved"
    assert saved["notes"] == "Ask about the on-call rota"
    assert saved["job"]["id"] == job_ids[0]
    assert transitions(saved) == [(None, "saved")]

    listed = api.get("/api/saved", headers=user.headers).json()["items"]
    assert [item["id"] for item in listed] == [saved["id"]]
    fetched = api.get(f"/api/saved/{saved['id']}", headers=user.headers)
    assert fetched.status_code == 200
    assert fetched.json() == saved


def test_saved_job_times_are_utc_and_current(
    api: httpx.Client, user: ApiUser, job_ids: list[int]
) -> None:
    saved = save(api, user, job_ids[0])
    now = datetime.now(UTC)
    stamps = [saved["created_at"], saved["updated_at"], saved["events"][0]["changed_at"]]
    for stamp in stamps:
        moment = datetime.fromisoformat(stamp)
        assert moment.utcoffset() == timedelta(0), stamp  # the same on SQLite and PostgreSQL
        assert abs(moment - now) < timedelta(minutes=5), stamp


def test_saving_the_same_job_twice_is_409(
    api: httpx.Client, user: ApiUser, job_ids: list[int]
) -> None:
    save(api, user, job_ids[0])
    again = api.post("/api/saved", headers=user.headers, json={"job_id": job_ids[0]})
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "already_saved"
    assert len(api.get("/api/saved", headers=user.headers).json()["items"]) == 1


def test_saving_a_missing_job_is_404(api: httpx.Client, user: ApiUser) -> None:
    response = api.post("/api/saved", headers=user.headers, json={"job_id": 9_999_999})
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
    assert api.get("/api/saved", headers=user.headers).json()["items"] == []


def test_saving_with_a_bad_job_id_is_422(api: httpx.Client, user: ApiUser) -> None:
    for body in ({"job_id": 0}, {"job_id": "abc"}, {}):
        response = api.post("/api/saved", headers=user.headers, json=body)
        assert response.status_code == 422, (body, response.text)


def test_saved_jobs_require_authentication(api: httpx.Client, job_ids: list[int]) -> None:
    assert api.get("/api/saved").status_code == 401
    assert api.post("/api/saved", json={"job_id": job_ids[0]}).status_code == 401
    assert api.get("/api/saved/1").status_code == 401
    assert api.patch("/api/saved/1", json={"status": "applied"}).status_code == 401
    assert api.delete("/api/saved/1").status_code == 401


# --- the pipeline ------------------------------------------------------------------------


def test_status_changes_are_recorded_in_order(
    api: httpx.Client, user: ApiUser, job_ids: list[int]
) -> None:
    saved = save(api, user, job_ids[1])
    for status in ("applied", "interviewing", "offer"):
        response = api.patch(f"/api/saved/{saved['id']}", headers=user.headers,
                             json={"status": status})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    current = api.get(f"/api/saved/{saved['id']}", headers=user.headers).json()
    assert current["status"] == "offer"
    assert transitions(current) == [
        (None, "saved"), ("saved", "applied"), ("applied", "interviewing"),
        ("interviewing", "offer"),
    ]
    times = [datetime.fromisoformat(e["changed_at"]) for e in current["events"]]
    assert times == sorted(times)


def test_setting_the_same_status_records_no_event(
    api: httpx.Client, user: ApiUser, job_ids: list[int]
) -> None:
    saved = save(api, user, job_ids[1])
    response = api.patch(f"/api/saved/{saved['id']}", headers=user.headers,
                         json={"status": "saved"})
    assert response.status_code == 200
    assert transitions(response.json()) == [(None, "saved")]


def test_a_saved_job_can_go_back_to_an_earlier_status(
    api: httpx.Client, user: ApiUser, job_ids: list[int]
) -> None:
    saved = save(api, user, job_ids[1])
    path = f"/api/saved/{saved['id']}"
    api.patch(path, headers=user.headers, json={"status": "rejected"})
    back = api.patch(path, headers=user.headers, json={"status": "applied"})
    assert back.status_code == 200
    assert transitions(back.json())[-2:] == [("saved", "rejected"), ("rejected", "applied")]


@pytest.mark.parametrize("status", ["hired", "APPLIED", "", None])
def test_invalid_status_is_422_and_changes_nothing(
    api: httpx.Client, user: ApiUser, job_ids: list[int], status: str | None
) -> None:
    saved = save(api, user, job_ids[2])
    body = {"status": status} if status is not None else {"status": 3}
    response = api.patch(f"/api/saved/{saved['id']}", headers=user.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    current = api.get(f"/api/saved/{saved['id']}", headers=user.headers).json()
    assert current["status"] == "saved"
    assert transitions(current) == [(None, "saved")]


def test_notes_can_be_updated_and_cleared_without_touching_status(
    api: httpx.Client, user: ApiUser, job_ids: list[int]
) -> None:
    saved = save(api, user, job_ids[3], notes="first draft")
    path = f"/api/saved/{saved['id']}"
    api.patch(path, headers=user.headers, json={"status": "applied"})

    updated = api.patch(path, headers=user.headers, json={"notes": "Recruiter: Sam, call Friday"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["notes"] == "Recruiter: Sam, call Friday"
    assert updated.json()["status"] == "applied"
    assert api.get(path, headers=user.headers).json()["notes"] == "Recruiter: Sam, call Friday"

    # Changing only the status keeps the notes.
    kept = api.patch(path, headers=user.headers, json={"status": "interviewing"}).json()
    assert kept["notes"] == "Recruiter: Sam, call Friday"

    cleared = api.patch(path, headers=user.headers, json={"notes": None})
    assert cleared.json()["notes"] is None
    assert api.get(path, headers=user.headers).json()["notes"] is None


def test_notes_longer_than_5000_characters_are_422(
    api: httpx.Client, user: ApiUser, job_ids: list[int]
) -> None:
    response = api.post("/api/saved", headers=user.headers,
                        json={"job_id": job_ids[0], "notes": "x" * 5001})
    assert response.status_code == 422


def test_unsave_is_204_then_the_saved_job_is_off_the_board(
    api: httpx.Client, user: ApiUser, job_ids: list[int]
) -> None:
    saved = save(api, user, job_ids[4], notes="recruiter: Sam")
    path = f"/api/saved/{saved['id']}"
    api.patch(path, headers=user.headers, json={"status": "applied"})

    deleted = api.delete(path, headers=user.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert api.get(path, headers=user.headers).status_code == 404
    assert api.patch(path, headers=user.headers, json={"status": "offer"}).status_code == 404
    assert api.delete(path, headers=user.headers).status_code == 404
    assert api.get("/api/saved", headers=user.headers).json()["items"] == []
    # Saved again, it comes back as it was: nothing a user wrote is lost to a removal.
    again = save(api, user, job_ids[4])
    assert again["id"] == saved["id"] and again["notes"] == "recruiter: Sam"
    assert transitions(again) == [(None, "saved"), ("saved", "applied")]


def test_restore_undoes_a_removal_with_notes_and_history(
    api: httpx.Client, user: ApiUser, job_ids: list[int]
) -> None:
    saved = save(api, user, job_ids[3], notes="call back Monday")
    path = f"/api/saved/{saved['id']}"
    api.patch(path, headers=user.headers, json={"status": "interviewing"})
    # Only a removed card can be restored.
    assert api.post(f"{path}/restore", headers=user.headers).status_code == 404
    assert api.delete(path, headers=user.headers).status_code == 204

    restored = api.post(f"{path}/restore", headers=user.headers)
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert body["status"] == "interviewing" and body["notes"] == "call back Monday"
    assert transitions(body) == [(None, "saved"), ("saved", "interviewing")]
    listed = api.get("/api/saved", headers=user.headers).json()["items"]
    assert [item["id"] for item in listed] == [saved["id"]]
    assert api.post(f"{path}/restore", headers=user.headers).status_code == 404


def test_a_permanent_removal_leaves_nothing_to_restore_and_a_new_save_starts_afresh(
    api: httpx.Client, user: ApiUser, job_ids: list[int]
) -> None:
    saved = save(api, user, job_ids[2], notes="gone for good")
    path = f"/api/saved/{saved['id']}"
    gone = api.delete(path, headers=user.headers, params={"permanently": "true"})
    assert gone.status_code == 204
    assert api.post(f"{path}/restore", headers=user.headers).status_code == 404
    assert api.delete(path, headers=user.headers,
                      params={"permanently": "true"}).status_code == 404
    again = save(api, user, job_ids[2])
    assert again["notes"] is None  # (SQLite may hand the freed id out again)
    assert transitions(again) == [(None, "saved")]
    # a card already taken off the board can be removed for good too
    assert api.delete(f"/api/saved/{again['id']}", headers=user.headers).status_code == 204
    assert api.delete(f"/api/saved/{again['id']}", headers=user.headers,
                      params={"permanently": "true"}).status_code == 204
    assert api.post(f"/api/saved/{again['id']}/restore",
                    headers=user.headers).status_code == 404


def test_list_shows_the_most_recently_changed_first(
    api: httpx.Client, user: ApiUser, job_ids: list[int]
) -> None:
    first = save(api, user, job_ids[0])
    second = save(api, user, job_ids[1])
    ids = [item["id"] for item in api.get("/api/saved", headers=user.headers).json()["items"]]
    assert sorted(ids) == sorted([first["id"], second["id"]])
    assert ids[0] == second["id"]


# --- two users ---------------------------------------------------------------------------


@pytest.fixture
def alice_and_bob(new_user: Callable[..., ApiUser]) -> tuple[ApiUser, ApiUser]:
    return new_user("alice"), new_user("bob")


def test_another_user_cannot_read_change_or_delete_a_saved_job(
    api: httpx.Client, alice_and_bob: tuple[ApiUser, ApiUser], job_ids: list[int]
) -> None:
    alice, bob = alice_and_bob
    saved = save(api, alice, job_ids[0], notes="alice's private note")
    path = f"/api/saved/{saved['id']}"

    for response in (
        api.get(path, headers=bob.headers),
        api.patch(path, headers=bob.headers, json={"status": "rejected", "notes": "bob"}),
        api.delete(path, headers=bob.headers),
        api.delete(path, headers=bob.headers, params={"permanently": "true"}),
        api.post(f"{path}/restore", headers=bob.headers),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
        assert "alice" not in response.text

    untouched = api.get(path, headers=alice.headers).json()
    assert untouched["status"] == "saved"
    assert untouched["notes"] == "alice's private note"
    assert transitions(untouched) == [(None, "saved")]


def test_saved_lists_are_per_user(
    api: httpx.Client, alice_and_bob: tuple[ApiUser, ApiUser], job_ids: list[int]
) -> None:
    alice, bob = alice_and_bob
    a1 = save(api, alice, job_ids[0])
    a2 = save(api, alice, job_ids[1])
    b1 = save(api, bob, job_ids[0])  # the same job saved by both is two separate entries
    assert b1["id"] not in (a1["id"], a2["id"])

    alice_ids = {i["id"] for i in api.get("/api/saved", headers=alice.headers).json()["items"]}
    bob_ids = {i["id"] for i in api.get("/api/saved", headers=bob.headers).json()["items"]}
    assert alice_ids == {a1["id"], a2["id"]}
    assert bob_ids == {b1["id"]}

    api.patch(f"/api/saved/{b1['id']}", headers=bob.headers, json={"status": "applied"})
    assert api.get(f"/api/saved/{a1['id']}", headers=alice.headers).json()["status"] == "saved"
