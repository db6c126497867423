"""Sign-in delegated to Clerk: RS256 session tokens verified against CLERK_JWT_KEY."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from tests.api.conftest import PASSWORD, unique_email
from tests.conftest import backend_env
from tests.support.processes import Service, run_service


def new_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: RSAPrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.fixture(scope="module")
def clerk_key() -> RSAPrivateKey:
    return new_key()


@pytest.fixture(scope="module")
def backend(module_database_url: str, encryption_key: str, clerk_key: RSAPrivateKey,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A backend with Clerk sign-in on; the PEM is passed with its newlines as they are."""
    env = backend_env(module_database_url, encryption_key, **clerk_env(clerk_key))
    with run_service("backend", env, tmp_path_factory.mktemp("logs"), "--migrate") as service:
        yield service


ISSUER = "https://clerk.jobnaut.test"
SITE = "https://jobnaut.test"


def clerk_env(key: RSAPrivateKey) -> dict[str, str]:
    """The backend settings that turn Clerk sign-in on, trusting `key`."""
    return {"CLERK_SECRET_KEY": f"sk_test_{secrets.token_urlsafe(24)}",
            "CLERK_JWT_KEY": public_pem(key), "CLERK_ISSUER": ISSUER,
            "CLERK_AUTHORIZED_PARTIES": f"http://localhost:3000, {SITE}"}


def clerk_token(key: RSAPrivateKey | str, *, algorithm: str = "RS256", expires_in: int = 60,
                **claims: Any) -> str:
    """A session token as Clerk mints one (60 s, its issuer, this site as `azp`); a claim
    given as None is left out."""
    now = int(time.time())
    payload = {"iat": now - 5, "exp": now + expires_in, "iss": ISSUER, "azp": SITE, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key,
                      algorithm=algorithm)


def me(api: httpx.Client, token: str) -> httpx.Response:
    return api.get("/api/me", headers={"Authorization": f"Bearer {token}"})


def new_subject() -> str:
    return f"user_{uuid.uuid4().hex}"


def test_a_valid_clerk_token_signs_in_and_creates_the_user_once(
    api: httpx.Client, clerk_key: RSAPrivateKey
) -> None:
    subject, email = new_subject(), unique_email("clerk")
    first = me(api, clerk_token(clerk_key, sub=subject, email=email))
    assert first.status_code == 200, first.text
    assert first.json()["email"] == email

    second = me(api, clerk_token(clerk_key, sub=subject, email=email))
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]


def test_clerk_users_are_told_apart_by_subject(
    api: httpx.Client, clerk_key: RSAPrivateKey
) -> None:
    one = me(api, clerk_token(clerk_key, sub=new_subject(), email=unique_email("one")))
    two = me(api, clerk_token(clerk_key, sub=new_subject(), email=unique_email("two")))
    assert one.status_code == two.status_code == 200
    assert one.json()["id"] != two.json()["id"]


def test_a_clerk_user_can_use_the_api(api: httpx.Client, clerk_key: RSAPrivateKey) -> None:
    headers = {"Authorization": "Bearer " + clerk_token(clerk_key, sub=new_subject(),
                                                        email=unique_email("clerk"))}
    put = api.put("/api/profile", headers=headers, json={"full_name": "Clerk Kent",
                                                         "skills": ["Journalism"]})
    assert put.status_code == 200, put.text
    assert api.get("/api/profile", headers=headers).json()["skills"] == ["Journalism"]


def test_an_expired_clerk_token_is_401(api: httpx.Client, clerk_key: RSAPrivateKey) -> None:
    token = clerk_token(clerk_key, sub=new_subject(), email=unique_email(), expires_in=-120)
    response = me(api, token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_token_signed_by_another_key_is_401(api: httpx.Client) -> None:
    response = me(api, clerk_token(new_key(), sub=new_subject(), email=unique_email()))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_an_hs256_token_is_401(api: httpx.Client, clerk_key: RSAPrivateKey) -> None:
    token = clerk_token(secrets.token_hex(32), algorithm="HS256", sub=new_subject(),
                        email=unique_email())
    assert me(api, token).status_code == 401


def test_an_unsigned_token_is_401(api: httpx.Client) -> None:
    token = clerk_token("", algorithm="none", sub=new_subject(), email=unique_email())
    assert me(api, token).status_code == 401


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "iss", "azp"])
def test_a_token_without_a_required_claim_is_401(
    api: httpx.Client, clerk_key: RSAPrivateKey, missing: str
) -> None:
    now = int(time.time())
    claims = {"sub": new_subject(), "iat": now, "exp": now + 60, "email": unique_email(),
              "iss": ISSUER, "azp": SITE}
    del claims[missing]
    token = jwt.encode(claims, clerk_key, algorithm="RS256")
    assert me(api, token).status_code == 401


def test_a_tampered_clerk_token_is_401(api: httpx.Client, clerk_key: RSAPrivateKey) -> None:
    header, _payload, signature = clerk_token(clerk_key, sub=new_subject()).split(".")
    forged = jwt.utils.base64url_encode(
        b'{"sub":"user_admin","iat":1,"exp":9999999999}').decode()
    assert me(api, f"{header}.{forged}.{signature}").status_code == 401


def test_a_clerk_token_cannot_take_over_a_password_account(
    api: httpx.Client, clerk_key: RSAPrivateKey
) -> None:
    email = unique_email("owner")
    signup = api.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert signup.status_code == 201
    response = me(api, clerk_token(clerk_key, sub=new_subject(), email=email))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"


def test_password_sign_in_still_works_beside_clerk(api: httpx.Client) -> None:
    email = unique_email()
    token = api.post("/api/auth/signup",
                     json={"email": email, "password": PASSWORD}).json()["token"]
    assert me(api, token).json()["email"] == email


def test_concurrent_first_requests_of_a_new_clerk_user_create_one_user(
    api: httpx.Client, backend: Service, clerk_key: RSAPrivateKey
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    token = clerk_token(clerk_key, sub=new_subject(), email=unique_email("race"))

    def call(_: int) -> httpx.Response:
        with httpx.Client(base_url=backend.url, timeout=30) as client:
            return me(client, token)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(call, range(8)))
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
