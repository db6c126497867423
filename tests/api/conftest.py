"""Fixtures for the backend API tests: an HTTP client on the module's backend, and users."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.processes import Service

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class ApiUser:
    id: int
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture
def api(backend: Service) -> Iterator[httpx.Client]:
    """An HTTP client on the real backend process of this module."""
    with httpx.Client(base_url=backend.url, timeout=30) as client:
        yield client


@pytest.fixture
def new_user(api: httpx.Client) -> Callable[..., ApiUser]:
    """Sign up a fresh account (unique email) over HTTP and return it with its token."""

    def make(prefix: str = "user") -> ApiUser:
        email = unique_email(prefix)
        response = api.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        assert response.status_code == 201, response.text
        body = response.json()
        return ApiUser(id=body["user"]["id"], email=email, password=PASSWORD,
                       token=body["token"])

    return make


@pytest.fixture
def user(new_user: Callable[..., ApiUser]) -> ApiUser:
    return new_user()
