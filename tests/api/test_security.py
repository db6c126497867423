"""Security hardening (issue 12), tested on the in-process app over a fresh SQLite file.

Each test names the item of the issue it covers. The behaviour that depends on the
database kind or on a real server process is tested in test_accounts.py and test_clerk.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from jobnaut.app.accounts.security import token_digest
from jobnaut.app.accounts.service import account_digest
from jobnaut.app.accounts.throttle import HashingGate, SlidingWindow, Throttle
from jobnaut.app.accounts.tokens import IDLE_TIMEOUT, MAX_LIFETIME
from jobnaut.app.db import make_engine
from jobnaut.app.jobs.search import MAX_TERMS, fts5_match, search_terms
from jobnaut.app.main import create_app
from jobnaut.app.models import ENCRYPTED_COLUMNS
from jobnaut.app.rebind import column_name, rebind
from jobnaut.config import BackendSettings, check_variables
from tests.api.app_client import app_client
from tests.api.test_clerk import ISSUER, clerk_env, clerk_token, new_key, new_subject

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
    assert get_job["maximum"] == 2**31 - 1 and get_job["minimum"] == 1
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


# --- item 1: Clerk session tokens --------------------------------------------------------


@pytest.fixture(scope="module")
def clerk_key() -> RSAPrivateKey:
    return new_key()


@pytest.fixture(scope="module")
def clerk_client(tmp_path_factory: pytest.TempPathFactory,
                 clerk_key: RSAPrivateKey) -> Iterator[TestClient]:
    with app_client(tmp_path_factory.mktemp("clerk"), jobs=1, **clerk_env(clerk_key)) as app:
        yield app


def clerk_me(client: TestClient, token: str) -> int:
    return client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_token_as_clerk_mints_it_is_accepted(clerk_client: TestClient,
                                               clerk_key: RSAPrivateKey) -> None:
    assert clerk_me(clerk_client, clerk_token(clerk_key, sub=new_subject())) == 200


@pytest.mark.parametrize("claims", [
    {"iss": "https://evil.example"},
    {"iss": ISSUER + "/other"},
    {"azp": "https://evil.example"},
    {"azp": ""},
    {"sub": ""},
    {"sub": " "},
    {"sub": 12345},
    {"expires_in": 100 * 365 * 24 * 3600},
    {"expires_in": 3600},
    {"email": "not an address"},
    {"email": ["a@example.com"]},
], ids=["foreign-iss", "other-iss", "foreign-azp", "empty-azp", "empty-sub", "blank-sub",
        "numeric-sub", "100-years", "one-hour", "bad-email", "email-list"])
def test_a_clerk_token_that_does_not_check_out_is_401(
    clerk_client: TestClient, clerk_key: RSAPrivateKey, claims: dict[str, Any]
) -> None:
    token = clerk_token(clerk_key, **{"sub": new_subject(), **claims})
    assert clerk_me(clerk_client, token) == 401


def test_a_clerk_token_with_an_empty_subject_creates_no_user(
    clerk_client: TestClient, clerk_key: RSAPrivateKey
) -> None:
    clerk_me(clerk_client, clerk_token(clerk_key, sub=""))
    state = clerk_client.app.state.jobnaut  # type: ignore[attr-defined]
    with state.engine.connect() as connection:
        invalid = connection.execute(
            text("SELECT count(*) FROM users WHERE clerk_user_id = ''")).scalar()
    assert invalid == 0


def test_the_clerk_email_is_stored_normalised(clerk_client: TestClient,
                                              clerk_key: RSAPrivateKey) -> None:
    token = clerk_token(clerk_key, sub=new_subject(), email="Someone@Example.COM")
    me = clerk_client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "someone@example.com"


def test_signing_out_with_a_clerk_token_does_not_claim_to_revoke_it(
    clerk_client: TestClient, clerk_key: RSAPrivateKey
) -> None:
    token = clerk_token(clerk_key, sub=new_subject())
    headers = {"Authorization": f"Bearer {token}"}
    response = clerk_client.post("/api/auth/signout", headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "clerk_session"
    assert clerk_client.get("/api/me", headers=headers).status_code == 200  # as it said


@pytest.mark.parametrize("missing", ["CLERK_ISSUER", "CLERK_AUTHORIZED_PARTIES",
                                     "CLERK_JWT_KEY"])
def test_clerk_sign_in_needs_its_issuer_parties_and_key(clerk_key: RSAPrivateKey,
                                                        missing: str) -> None:
    env = {"DATABASE_URL": "sqlite:///x.db", "ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "JOBNAUT_ENV": "development", **clerk_env(clerk_key)}
    del env[missing]
    states = {r.name: r.state for r in check_variables(env, "backend")}
    assert states[missing] == "missing"


@pytest.mark.parametrize(("name", "value"), [
    ("CLERK_ISSUER", "http://clerk.jobnaut.test"),
    ("CLERK_ISSUER", "not a url"),
    ("CLERK_AUTHORIZED_PARTIES", " , "),
    ("CLERK_AUTHORIZED_PARTIES", "https://jobnaut.test/path"),
    ("CLERK_AUTHORIZED_PARTIES", "jobnaut.test"),
])
def test_clerk_settings_are_validated(clerk_key: RSAPrivateKey, name: str, value: str) -> None:
    env = {**clerk_env(clerk_key), name: value}
    states = {r.name: r.state for r in check_variables(env, "backend")}
    assert states[name] == "invalid"


# --- item 3: rate limits, bounded hashing, logging, common passwords ---------------------


@pytest.fixture
def limited(client: TestClient) -> Iterator[Throttle]:
    """Small limits on the module's app for one test (production's would take minutes)."""
    state = client.app.state.jobnaut  # type: ignore[attr-defined]
    default = state.throttle
    state.throttle = Throttle(account_failures=SlidingWindow(limit=3, window=600),
                              address_attempts=SlidingWindow(limit=6, window=600),
                              hashing=HashingGate(concurrency=1, wait=0.2))
    yield state.throttle
    state.throttle = default


def from_address(client: TestClient, address: str) -> TestClient:
    return TestClient(client.app, client=(address, 40000), raise_server_exceptions=False)


def sign_in(client: TestClient, email: str, password: str) -> Any:
    return client.post("/api/auth/signin", json={"email": email, "password": password})


def test_wrong_passwords_for_one_account_are_limited_with_429_and_retry_after(
    client: TestClient, limited: Throttle
) -> None:
    email = f"victim-{uuid.uuid4().hex[:8]}@example.com"
    sign_up(client, email)
    attacker = from_address(client, "198.51.100.1")
    assert [sign_in(attacker, email, f"guess-{n}").status_code for n in range(3)] == [401] * 3
    limited_response = sign_in(attacker, email, PASSWORD)  # even the right one, for now
    assert limited_response.status_code == 429
    assert limited_response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited_response.headers["Retry-After"]) <= 600
    # Per account, not per address: another address gets no more guesses at it.
    assert sign_in(from_address(client, "198.51.100.2"), email, PASSWORD).status_code == 429


def test_attempts_from_one_address_are_limited_and_others_are_not(
    client: TestClient, limited: Throttle
) -> None:
    flood = from_address(client, "203.0.113.9")
    codes = [sign_in(flood, f"nobody-{n}@example.com", "wrong password").status_code
             for n in range(7)]
    assert codes == [401] * 6 + [429]
    assert "Retry-After" in sign_in(flood, "x@example.com", "x").headers
    other = from_address(client, "203.0.113.10")
    assert sign_in(other, "nobody@example.com", "wrong password").status_code == 401


def test_sign_ins_beyond_the_hashing_capacity_get_503_not_a_queue(
    client: TestClient, limited: Throttle
) -> None:
    with limited.hashing.slot():  # a flood already holds the only hashing slot
        response = sign_in(client, "someone@example.com", "a password")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert sign_in(client, "someone@example.com", "a password").status_code == 401


def test_a_failed_sign_in_is_logged_without_the_password(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"Secret-{uuid.uuid4().hex}"
    with caplog.at_level("WARNING", logger="jobnaut.api"):
        assert sign_in(client, "Logged@Example.com", secret).status_code == 401
    failed = [r.getMessage() for r in caplog.records if "failed sign-in" in r.getMessage()]
    assert len(failed) == 1
    assert account_digest("logged@example.com") in failed[0]
    assert secret not in caplog.text and "logged@example.com" not in caplog.text.lower()


@pytest.mark.parametrize("password", ["12345678", "Password123", "qwertyuiop",
                                      "aaaaaaaaaaaa", "abababab"])
def test_a_common_password_is_refused_at_sign_up(client: TestClient, password: str) -> None:
    response = client.post("/api/auth/signup",
                           json={"email": "new@example.com", "password": password})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"][0]["field"] == "password"
    assert password not in response.text


@pytest.mark.parametrize("password", ["Kim.Lee@Example.com", "kim.lee@example.com",
                                      "kim.lee"])
def test_the_accounts_own_email_is_refused_as_its_password(client: TestClient,
                                                           password: str) -> None:
    response = client.post("/api/auth/signup",
                           json={"email": "kim.lee@example.com", "password": password})
    assert response.status_code == 422, response.text


# --- item 6: repeated search terms -------------------------------------------------------


def test_repeated_search_terms_are_searched_once_and_capped() -> None:
    assert search_terms("a " * 100) == ["a"]
    assert search_terms("Python python PYTHON sql") == ["Python", "sql"]
    assert len(search_terms(" ".join(f"w{n}" for n in range(50)))) == MAX_TERMS
    assert fts5_match("a " * 100) == '"a"*'
    assert fts5_match("senior python python") == '"senior" "python"*'


def test_a_query_of_a_hundred_repeats_finds_what_one_does(client: TestClient) -> None:
    once = client.get("/api/jobs", params={"q": "engineer"}).json()["total"]
    repeated = client.get("/api/jobs", params={"q": "engineer " * 22})
    assert repeated.status_code == 200 and repeated.json()["total"] == once > 0


# --- item 10: API security headers -------------------------------------------------------


def test_api_responses_carry_security_headers_without_hsts_in_development(
    client: TestClient,
) -> None:
    response = client.get("/api/jobs/1")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "camera=()" in response.headers["permissions-policy"]
    assert "strict-transport-security" not in response.headers


def production_api(**env: str) -> TestClient:
    """A production backend app on a database it never connects to (for what needs none)."""
    settings = BackendSettings.from_env({
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(), "JOBNAUT_ENV": "production", **env})
    return TestClient(create_app(settings), client=("192.0.2.10", 50000))


def test_api_sends_hsts_in_production() -> None:
    with production_api() as client:
        response = client.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


# --- item 8: an honest OpenAPI document --------------------------------------------------


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def test_the_bearer_scheme_is_declared_and_required_where_it_is(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["HTTPBearer"].items()
    assert spec["paths"]["/api/me"]["get"]["security"] == [{"HTTPBearer": []}]
    assert spec["paths"]["/api/saved"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in spec["paths"]["/api/jobs"]["get"]


@pytest.mark.parametrize(("path", "method", "statuses"), [
    ("/api/auth/signup", "post", {"201", "409", "422", "429", "503"}),
    ("/api/auth/signin", "post", {"200", "401", "422", "429", "503"}),
    ("/api/auth/signout", "post", {"204", "401", "409"}),
    ("/api/jobs/{job_id}", "get", {"200", "404", "422"}),
    ("/api/saved/{saved_id}", "patch", {"200", "401", "404", "422"}),
    ("/api/jobs/{job_id}/match", "get", {"200", "401", "404", "422"}),
])
def test_error_responses_are_documented_in_the_shape_sent(
    spec: dict[str, Any], path: str, method: str, statuses: set[str]
) -> None:
    responses = spec["paths"][path][method]["responses"]
    assert statuses <= set(responses)
    for status in statuses - {"200", "201", "204"}:
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorOut"}, status
    if "429" in statuses:
        assert "Retry-After" in responses["429"]["headers"]


def test_metrics_is_documented_as_text(client: TestClient, spec: dict[str, Any]) -> None:
    content = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"text/plain"}
    local = from_address(client, "127.0.0.1")
    assert local.get("/metrics").headers["content-type"].startswith("text/plain")


# --- item 7: idle timeout, sign out everywhere, pruning ----------------------------------


def token_row(client: TestClient, headers: dict[str, str]) -> Any:
    from jobnaut.app.accounts.models import AuthToken

    state = client.app.state.jobnaut  # type: ignore[attr-defined]
    digest = token_digest(headers["Authorization"].removeprefix("Bearer "))
    with state.sessions() as db:
        return db.scalar(select(AuthToken).where(AuthToken.token_hash == digest))


def set_token_times(client: TestClient, headers: dict[str, str], **times: datetime) -> None:
    from jobnaut.app.accounts.models import AuthToken

    state = client.app.state.jobnaut  # type: ignore[attr-defined]
    digest = token_digest(headers["Authorization"].removeprefix("Bearer "))
    with state.sessions() as db, db.begin():
        db.execute(update(AuthToken).where(AuthToken.token_hash == digest).values(**times))


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_new_token_dies_when_idle_not_after_two_weeks(client: TestClient) -> None:
    headers = sign_up(client)
    expires = utc(token_row(client, headers).expires_at)
    assert abs(expires - (datetime.now(UTC) + IDLE_TIMEOUT)) < timedelta(minutes=1)
    set_token_times(client, headers, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    response = client.get("/api/me", headers=headers)
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_using_a_token_keeps_it_alive_up_to_its_maximum_lifetime(client: TestClient) -> None:
    headers = sign_up(client)
    now = datetime.now(UTC)
    set_token_times(client, headers, expires_at=now + timedelta(minutes=5))
    assert client.get("/api/me", headers=headers).status_code == 200
    extended = utc(token_row(client, headers).expires_at)
    assert abs(extended - (now + IDLE_TIMEOUT)) < timedelta(minutes=1)

    created = now - MAX_LIFETIME + timedelta(hours=2)  # two hours of its life left
    set_token_times(client, headers, created_at=created, expires_at=now + timedelta(minutes=5))
    assert client.get("/api/me", headers=headers).status_code == 200
    capped = utc(token_row(client, headers).expires_at)
    assert abs(capped - (created + MAX_LIFETIME)) < timedelta(seconds=5)


def test_sign_out_everywhere_ends_every_session_of_the_account(client: TestClient) -> None:
    email = f"many-{uuid.uuid4().hex[:8]}@example.com"
    first = sign_up(client, email)
    second_token = client.post("/api/auth/signin",
                               json={"email": email, "password": PASSWORD}).json()["token"]
    second = {"Authorization": f"Bearer {second_token}"}
    other = sign_up(client)

    response = client.post("/api/auth/signout-everywhere", headers=first)
    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 2}
    assert client.get("/api/me", headers=first).status_code == 401
    assert client.get("/api/me", headers=second).status_code == 401
    assert client.get("/api/me", headers=other).status_code == 200  # only this account


def test_long_dead_tokens_are_pruned_at_the_next_sign_in(client: TestClient) -> None:
    email = f"prune-{uuid.uuid4().hex[:8]}@example.com"
    old = sign_up(client, email)
    recent = {"Authorization": "Bearer " + client.post(
        "/api/auth/signin", json={"email": email, "password": PASSWORD}).json()["token"]}
    set_token_times(client, old, expires_at=datetime.now(UTC) - timedelta(days=31))
    set_token_times(client, recent, expires_at=datetime.now(UTC) - timedelta(days=1))
    client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
    assert token_row(client, old) is None
    assert token_row(client, recent) is not None  # dead, but kept to explain its 401


def test_a_body_that_is_not_json_is_a_documented_422(client: TestClient,
                                                     auth: dict[str, str]) -> None:
    response = client.put("/api/profile", content=b"\xff\x00not json",
                          headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


# --- item 9: exposure of /metrics and /docs ----------------------------------------------


def test_metrics_are_hidden_from_other_machines_without_the_token() -> None:
    token = "metrics-" + uuid.uuid4().hex
    with production_api(METRICS_TOKEN=token) as remote:
        assert remote.get("/metrics").status_code == 404
        assert remote.get("/metrics", headers={"Authorization": "Bearer wrong-token"}
                          ).status_code == 404
        allowed = remote.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200 and "jobnaut_http_requests" in allowed.text
    with production_api() as no_token:  # no METRICS_TOKEN: loopback only
        assert no_token.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_api_docs_are_off_in_production_unless_asked_for() -> None:
    with production_api() as client:
        assert [client.get(p).status_code for p in ("/docs", "/redoc", "/openapi.json")] \
            == [404] * 3
    with production_api(API_DOCS="true") as client:
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200


def test_the_docs_page_loads_its_scripts_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/docs-static/") for a in assets), assets
    assert "cdn" not in page.text.lower()
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


# --- item 9: each ciphertext bound to its row and column ---------------------------------


def db_state(client: TestClient) -> Any:
    return client.app.state.jobnaut  # type: ignore[attr-defined]


def stored_profile(client: TestClient, user_id: int) -> Any:
    with db_state(client).sessions() as db:
        return db.execute(text("SELECT full_name_enc, location_enc FROM profiles "
                               "WHERE user_id = :id"), {"id": user_id}).one()


def me_id(client: TestClient, headers: dict[str, str]) -> int:
    user_id: int = client.get("/api/me", headers=headers).json()["id"]
    return user_id


def test_a_ciphertext_copied_to_another_users_row_does_not_decrypt_there(
    client: TestClient,
) -> None:
    alice, mallory = sign_up(client), sign_up(client)
    client.put("/api/profile", headers=alice, json={"full_name": "Alice Secret"})
    client.put("/api/profile", headers=mallory, json={"full_name": "Mallory"})
    stolen = stored_profile(client, me_id(client, alice)).full_name_enc
    with db_state(client).sessions() as db, db.begin():
        db.execute(text("UPDATE profiles SET full_name_enc = :v WHERE user_id = :id"),
                   {"v": stolen, "id": me_id(client, mallory)})
    response = client.get("/api/profile", headers=mallory)
    assert "Alice Secret" not in response.text
    assert response.status_code == 500  # tampered data is an error, never someone's name
    # ... and the same ciphertext in another column of Alice's own row does not read either.
    with db_state(client).sessions() as db, db.begin():
        db.execute(text("UPDATE profiles SET location_enc = :v WHERE user_id = :id"),
                   {"v": stolen, "id": me_id(client, alice)})
    assert client.get("/api/profile", headers=alice).status_code == 500


def test_rebind_binds_values_written_before_binding(client: TestClient) -> None:
    headers = sign_up(client)
    user_id = me_id(client, headers)
    client.put("/api/profile", headers=headers, json={"full_name": "Legacy", "location": "Old"})
    state = db_state(client)
    keys = state.settings.encryption
    # As the code before binding wrote them: the bare value, encrypted.
    legacy = {"n": keys.encrypt(b"Legacy").decode(), "l": keys.encrypt(b"Old").decode()}
    with state.sessions() as db, db.begin():
        db.execute(text("UPDATE profiles SET full_name_enc = :n, location_enc = :l "
                        "WHERE user_id = :id"), {**legacy, "id": user_id})
    assert client.get("/api/profile", headers=headers).json()["full_name"] == "Legacy"

    with state.sessions() as db, db.begin():
        rewritten = rebind(db=db, cipher=state.cipher)
    assert rewritten >= 2
    row = stored_profile(client, user_id)
    assert state.cipher.is_bound(row.full_name_enc) and state.cipher.is_bound(row.location_enc)
    assert client.get("/api/profile", headers=headers).json()["location"] == "Old"
    with state.sessions() as db, db.begin():
        assert rebind(db=db, cipher=state.cipher) == 0  # nothing left to do


def test_place_names_match_the_encrypted_columns() -> None:
    from jobnaut.app.accounts.service import FULL_NAME, LOCATION
    from jobnaut.app.feedback.service import MESSAGE
    from jobnaut.app.saved.service import NOTES

    assert [column_name(c) for c, _ in ENCRYPTED_COLUMNS] == [FULL_NAME, LOCATION, NOTES,
                                                               MESSAGE]
