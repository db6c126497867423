"""Personal data is encrypted at rest, and ENCRYPTION_KEY can be rotated without losing it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine, text

from jobnaut.app.db import make_engine
from jobnaut.config import parse_database_url
from tests.api.conftest import PASSWORD, ApiUser, unique_email
from tests.conftest import backend_env
from tests.support.processes import Service, run_service

PROFILE = {"full_name": "Grace Brewster Hopper", "location": "Arlington, Virginia",
           "experience_level": "lead", "skills": ["cobol", "compilers"]}
NOTES = "Referred by Dr. Ada Byron; salary talk on Tuesday"


def unbound(plain: bytes) -> bytes:
    """The value inside a stored plaintext, without the place it is bound to."""
    marker, place, value = plain.split(b"\x00", 2)
    assert marker == b"jn-bound-v1" and b"_enc#" in place
    return value


@contextmanager
def raw_database(url: str) -> Iterator[Engine]:
    """The same database the backend uses, read directly, around the API."""
    engine = make_engine(parse_database_url(url))
    try:
        yield engine
    finally:
        engine.dispose()


def raw_row(url: str, sql: str, **params: Any) -> dict[str, Any]:
    with raw_database(url) as engine, engine.connect() as conn:
        row = conn.execute(text(sql), params).mappings().one()
    return dict(row)


def sign_up(client: httpx.Client) -> ApiUser:
    email = unique_email("crypto")
    response = client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    body = response.json()
    return ApiUser(id=body["user"]["id"], email=email, password=PASSWORD, token=body["token"])


def put_profile(client: httpx.Client, user: ApiUser, profile: dict[str, Any]) -> None:
    response = client.put("/api/profile", headers=user.headers, json=profile)
    assert response.status_code == 200, response.text


# --- at rest, on the module's backend ----------------------------------------------------


def test_profile_name_and_location_are_stored_encrypted(
    api: httpx.Client, user: ApiUser, module_database_url: str, encryption_key: str
) -> None:
    put_profile(api, user, PROFILE)
    row = raw_row(module_database_url,
                  "SELECT full_name_enc, location_enc, experience_level FROM profiles "
                  "WHERE user_id = :id", id=user.id)
    for column, plain in (("full_name_enc", PROFILE["full_name"]),
                          ("location_enc", PROFILE["location"])):
        stored = row[column]
        assert plain not in stored and "Hopper" not in stored and "Arlington" not in stored
        assert unbound(Fernet(encryption_key.encode()).decrypt(stored.encode())).decode() == plain
    assert row["experience_level"] == "lead"  # not personal: kept searchable


def test_saved_job_notes_are_stored_encrypted(
    api: httpx.Client, user: ApiUser, module_database_url: str, encryption_key: str
) -> None:
    job_id = api.get("/api/jobs", params={"per_page": 1}).json()["items"][0]["id"]
    saved = api.post("/api/saved", headers=user.headers, json={"job_id": job_id, "notes": NOTES})
    assert saved.status_code == 201, saved.text
    stored = raw_row(module_database_url, "SELECT notes_enc FROM saved_jobs WHERE id = :id",
                     id=saved.json()["id"])["notes_enc"]
    assert "Ada" not in stored and "Tuesday" not in stored
    assert unbound(Fernet(encryption_key.encode()).decrypt(stored.encode())).decode() == NOTES

    changed = api.patch(f"/api/saved/{saved.json()['id']}", headers=user.headers,
                        json={"notes": "second thoughts"})
    assert changed.status_code == 200
    stored = raw_row(module_database_url, "SELECT notes_enc FROM saved_jobs WHERE id = :id",
                     id=saved.json()["id"])["notes_enc"]
    assert "second thoughts" not in stored
    assert unbound(Fernet(encryption_key.encode()).decrypt(stored.encode())) == \
        b"second thoughts"


def test_passwords_and_tokens_are_stored_only_as_hashes(
    user: ApiUser, module_database_url: str
) -> None:
    row = raw_row(module_database_url, "SELECT password_hash FROM users WHERE id = :id",
                  id=user.id)
    assert PASSWORD not in row["password_hash"]
    assert row["password_hash"].startswith("$argon2id$")
    with raw_database(module_database_url) as engine, engine.connect() as conn:
        hashes = conn.execute(text("SELECT token_hash FROM auth_tokens WHERE user_id = :id"),
                              {"id": user.id}).scalars().all()
    assert hashes == [hashlib.sha256(user.token.encode()).hexdigest()]


# --- key rotation, with servers of their own ---------------------------------------------


@pytest.fixture
def keys() -> tuple[str, str]:
    return Fernet.generate_key().decode(), Fernet.generate_key().decode()


@contextmanager
def server(database_url: str, key: str, logs: Path) -> Iterator[httpx.Client]:
    service: Service
    with run_service("backend", backend_env(database_url, key), logs, "--migrate") as service, \
            httpx.Client(base_url=service.url, timeout=30) as client:
        yield client


def stored_name(database_url: str, user: ApiUser) -> bytes:
    value = raw_row(database_url, "SELECT full_name_enc FROM profiles WHERE user_id = :id",
                    id=user.id)["full_name_enc"]
    return str(value).encode()


def test_key_rotation_keeps_old_data_readable_and_dropping_the_old_key_fails_readiness(
    database_url: str, keys: tuple[str, str], tmp_path: Path
) -> None:
    k1, k2 = keys
    old_profile = {**PROFILE, "full_name": "Old Key Person"}
    new_profile = {**PROFILE, "full_name": "New Key Person"}

    # 1. Everything is written under K1.
    with server(database_url, k1, tmp_path) as client:
        old = sign_up(client)
        put_profile(client, old, old_profile)
    assert unbound(Fernet(k1).decrypt(stored_name(database_url, old))) == b"Old Key Person"

    # 2. Rotation: K2 first, K1 kept. Old rows read; new rows are written under K2.
    with server(database_url, f"{k2},{k1}", tmp_path) as client:
        assert client.get("/health/ready").status_code == 200
        assert client.get("/api/profile", headers=old.headers).json() == old_profile
        new = sign_up(client)
        put_profile(client, new, new_profile)
        assert client.get("/api/profile", headers=new.headers).json() == new_profile

    fresh = stored_name(database_url, new)
    assert unbound(Fernet(k2).decrypt(fresh)) == b"New Key Person"
    with pytest.raises(InvalidToken):
        Fernet(k1).decrypt(fresh)
    assert unbound(Fernet(k1).decrypt(stored_name(database_url, old))) == b"Old Key Person"

    # 3. K1 dropped while rows still need it: not ready, and no garbage is served.
    with server(database_url, k2, tmp_path) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 503, ready.text
        body = ready.json()
        assert body["status"] == "not_ready"
        assert body["checks"]["configuration"]["ok"] is False
        assert "ENCRYPTION_KEY" in body["checks"]["configuration"]["detail"]
        assert body["checks"]["database"]["ok"] and body["checks"]["schema"]["ok"]
        assert k1 not in ready.text and k2 not in ready.text

        assert client.get("/api/profile", headers=new.headers).json() == new_profile
        profile = client.get("/api/profile", headers=old.headers)
        assert profile.status_code == 500
        assert profile.json()["error"]["code"] == "internal_error"
        assert "Old Key" not in profile.text and "gAAAA" not in profile.text
