"""Security hardening (issue 12), tested on the in-process app over a fresh SQLite file.

Each test names the item of the issue it covers. The behaviour that depends on the
database kind or on a real server process is tested in test_accounts.py and test_clerk.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from jobnaut.app.db import make_engine
from tests.api.app_client import app_client

PASSWORD = "correct horse battery staple"
HUGE = str(2**64)  # beyond any 64-bit column


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with app_client(tmp_path_factory.mktemp("app")) as running:
        yield running


def sign_up(client: TestClient, email: str | None = None) -> dict[str, str]:
    email = email or f"sec-{uuid.uuid4().hex[:12]}@example.com"
    response = client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture(scope="module")
def auth(client: TestClient) -> dict[str, str]:
    return sign_up(client)


# --- item 5: no 500s from integers, surrogates or coercions ------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"/api/jobs/{HUGE}"),
    ("GET", f"/api/jobs/{HUGE}/match"),
    ("GET", f"/api/saved/{HUGE}"),
    ("PATCH", f"/api/saved/{HUGE}"),
    ("DELETE", f"/api/saved/{HUGE}"),
    ("GET", f"/api/jobs?salary_min={HUGE}"),
    ("GET", f"/api/jobs?salary_max={HUGE}"),
    ("GET", f"/api/jobs?page={HUGE}"),
    ("GET", f"/api/jobs?per_page={HUGE}"),
    ("GET", "/api/jobs/-1"),
])
def test_integers_beyond_the_bounds_are_422_not_500(
    client: TestClient, auth: dict[str, str], method: str, path: str
) -> None:
    response = client.request(method, path, headers=auth, json={})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_saving_a_job_id_beyond_64_bits_is_422(client: TestClient,
                                               auth: dict[str, str]) -> None:
    response = client.post("/api/saved", headers=auth, json={"job_id": 2**64})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("body", [{"job_id": True}, {"job_id": "1"}, {"job_id": 1.5}])
def test_a_job_id_must_be_a_json_integer(client: TestClient, auth: dict[str, str],
                                         body: dict[str, object]) -> None:
    assert client.post("/api/saved", headers=auth, json=body).status_code == 422


@pytest.mark.parametrize("value", ["0", "1700000000", "2026-1-1"])
def test_posted_since_must_be_a_date(client: TestClient, value: str) -> None:
    response = client.get("/api/jobs", params={"posted_since": value})
    assert response.status_code == 422, response.text


def test_posted_since_as_a_date_still_works(client: TestClient) -> None:
    response = client.get("/api/jobs", params={"posted_since": "2000-01-01"})
    assert response.status_code == 200, response.text
    assert response.json()["total"] > 0


def test_the_bounds_are_published_in_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    get_job = spec["paths"]["/api/jobs/{job_id}"]["get"]["parameters"][0]["schema"]
    assert get_job["maximum"] == 2**63 - 1 and get_job["minimum"] == 1
    search = {p["name"]: p["schema"] for p in spec["paths"]["/api/jobs"]["get"]["parameters"]}
    salary = next(s for s in search["salary_min"]["anyOf"] if s.get("type") == "integer")
    assert salary["maximum"] == 1_000_000_000


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PUT", "/api/profile", '{"skills": ["python", "\\ud800"]}'),
    ("PUT", "/api/profile", '{"full_name": "a\\udfffb"}'),
    ("POST", "/api/saved", '{"job_id": 1, "notes": "\\ud83d"}'),
])
def test_a_lone_surrogate_is_422_not_500(client: TestClient, auth: dict[str, str],
                                         method: str, path: str, body: str) -> None:
    response = client.request(method, path, content=body,
                              headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text


def test_a_lone_surrogate_in_a_password_is_422(client: TestClient) -> None:
    body = '{"email": "x@example.com", "password": "abcdefgh\\ud800"}'
    response = client.post("/api/auth/signup", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text


def test_database_errors_never_carry_statement_parameters() -> None:
    engine = make_engine(make_url("sqlite:///:memory:"))
    assert engine.hide_parameters
