"""The frontend when its backend fails: down, too slow, 5xx, or off-contract.

"Down" is a real closed port. Slow, 5xx and garbled answers cannot be asked of the real
backend, so a tiny real HTTP server plays a broken backend for those.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from tests.browser.stack import run_frontend
from tests.support.processes import Service, free_port
from tests.support.web_client import WebClient

MESSAGE = "JobNaut&#39;s job service is not answering right now. Please try again in a minute."
BANNER = "unavailable right now — we're on it."


@pytest.fixture(scope="module")
def orphan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A frontend whose API_BASE_URL points at a port where nothing listens."""
    closed = f"http://127.0.0.1:{free_port()}"
    with run_frontend(closed, tmp_path_factory.mktemp("orphan")) as frontend:
        yield frontend


SLOW_SECONDS = 6  # far beyond the frontend's 0.5 s budget, so a loaded machine can't blur it


class BrokenBackend(BaseHTTPRequestHandler):
    """/health answers; everything under /api misbehaves as `mode` says."""

    mode = "slow"
    started: ClassVar[list[tuple[float, str]]] = []  # when each /api request arrived

    def do_GET(self) -> None:
        if self.path.startswith("/api/"):
            BrokenBackend.started.append((time.monotonic(), self.path))
        if self.path == "/health":
            self._send(200, b'{"status": "ok"}')
        elif BrokenBackend.mode == "slow":
            time.sleep(SLOW_SECONDS)
            self._send(200, b'{"total": 0, "page": 1, "per_page": 20, "items": []}')
        elif BrokenBackend.mode == "maintenance":  # what the traffic switch answers
            self._send(503, json.dumps({"error": {
                "code": "maintenance", "message": "down for maintenance"}}).encode())
        elif BrokenBackend.mode == "error":
            self._send(500, json.dumps(
                {"error": {"code": "internal_error", "message": "internal server error"}}
            ).encode())
        else:
            self._send(200, b'{"total": "many", "items": "some"}')

    do_POST = do_GET

    def _send(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the frontend gave up waiting, as it should

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BrokenBackend)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with run_frontend(url, Path(tmp_path_factory.mktemp("broken")),
                          API_TIMEOUT_SECONDS="0.5") as frontend:
            yield frontend
    finally:
        server.shutdown()
        server.server_close()


def assert_degraded(response: httpx.Response) -> None:
    """The site's shell with the outage banner and a way on, never a bare error."""
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert "text/html" in response.headers["content-type"]
    assert MESSAGE in response.text and BANNER in response.text
    assert 'href="/status"' in response.text and 'href="/jobs"' in response.text
    assert "Traceback" not in response.text


def test_pages_say_the_service_is_not_answering(orphan: Service) -> None:
    response = httpx.get(orphan.url + "/jobs/1")
    assert_degraded(response)
    assert "<h1>Not available right now</h1>" in response.text


def test_search_keeps_the_query_and_filters(orphan: Service) -> None:
    response = httpx.get(orphan.url + "/jobs?q=python+dev&location=Berlin&remote=true")
    assert_degraded(response)
    assert 'value="python dev"' in response.text and 'value="Berlin"' in response.text
    assert "Your search is kept" in response.text
    assert "jobs found" not in response.text


def test_sign_in_posted_during_an_outage_keeps_the_email_not_the_password(
    orphan: Service,
) -> None:
    with WebClient(base_url=orphan.url) as client:
        response = client.post("/signin",
                               data={"email": "kept@example.com", "password": "whatever1"})
        assert_degraded(response)
        assert 'value="kept@example.com"' in response.text
        assert "whatever1" not in response.text
        signup = client.post("/signup", data={"email": "new@example.com",
                                              "password": "long enough pw"})
        assert_degraded(signup)
        assert 'value="new@example.com"' in signup.text
        assert "long enough pw" not in signup.text


def test_signed_in_home_page_degrades_and_other_pages_show_the_shell(orphan: Service) -> None:
    signed_in = {"jobnaut_token": "some-token"}
    home = httpx.get(orphan.url + "/", cookies=signed_in)
    assert home.status_code == 200  # the way back in is never a 503
    assert BANNER in home.text and 'id="home-q"' in home.text
    for path in ("/saved", "/profile"):
        assert_degraded(httpx.get(orphan.url + path, cookies=signed_in))
    with WebClient(base_url=orphan.url, cookies=signed_in) as client:
        profile = client.post("/profile", data={"full_name": "Ada Typed", "skills": "Go, Rust"})
    assert_degraded(profile)
    assert 'value="Ada Typed"' in profile.text and "Go, Rust" in profile.text


def test_api_clients_get_json_with_retry_after(orphan: Service) -> None:
    response = httpx.get(orphan.url + "/jobs/1", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert response.json()["error"]["code"] == "backend_unavailable"


def test_sign_out_still_clears_the_cookie(orphan: Service) -> None:
    with WebClient(base_url=orphan.url, cookies={"jobnaut_token": "some-token"}) as client:
        response = client.post("/signout")
    assert response.status_code == 303
    assert 'jobnaut_token=""' in response.headers["set-cookie"]


def test_liveness_and_version_need_no_backend_but_readiness_does(orphan: Service) -> None:
    assert httpx.get(orphan.url + "/health").json() == {"status": "ok"}
    assert httpx.get(orphan.url + "/version").json()["service"] == "frontend"
    ready = httpx.get(orphan.url + "/health/ready")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert "ConnectError" in body["checks"]["backend"]
    assert body["reason"].startswith("backend:")


def test_public_pages_without_backend_calls_still_render(orphan: Service) -> None:
    for path in ("/", "/signin", "/signup"):
        assert httpx.get(orphan.url + path).status_code == 200, path


@pytest.mark.parametrize("mode", ["slow", "error", "garbled"])
def test_slow_failing_or_garbled_backend_gives_a_plain_503(broken: Service, mode: str) -> None:
    BrokenBackend.mode = mode
    started = time.monotonic()
    response = httpx.get(broken.url + "/jobs?q=python", timeout=10)
    assert response.status_code == 503
    assert MESSAGE in response.text
    assert time.monotonic() - started < SLOW_SECONDS - 2  # the budget, not the backend's time
    with WebClient(base_url=broken.url, cookies={"jobnaut_token": "t"}, timeout=10) as client:
        enhanced = client.post("/saved/1/notes", data={"notes": "x"},
                               headers={"Accept": "application/json"})
    assert enhanced.status_code == 503
    assert enhanced.json()["error"]["message"].startswith("JobNaut's job service")


def test_a_hanging_backend_costs_a_page_one_budget_not_one_timeout_per_call(
    broken: Service,
) -> None:
    """A signed-in job page needs three calls: all go out at once, inside one 0.5 s budget
    (one after another, the second would only start when the first timed out)."""
    BrokenBackend.mode = "slow"
    BrokenBackend.started.clear()
    response = httpx.get(broken.url + "/jobs/7", cookies={"jobnaut_token": "t"}, timeout=10)
    assert_degraded(response)
    paths = sorted(path for _, path in BrokenBackend.started)
    assert paths[:3] == ["/api/jobs/7", "/api/jobs/7/match", "/api/saved"]
    times = [at for at, _ in BrokenBackend.started]
    assert max(times) - min(times) < 0.5


def test_readiness_reports_a_backend_that_answers_health(broken: Service) -> None:
    assert httpx.get(broken.url + "/health/ready").status_code == 200


def test_maintenance_is_named_as_such(broken: Service) -> None:
    BrokenBackend.mode = "maintenance"
    response = httpx.get(broken.url + "/jobs?q=python", timeout=10)
    assert response.status_code == 503
    assert "down for maintenance" in response.text
    assert "Your data is safe" in response.text


def test_account_changes_during_an_outage_say_nothing_changed(orphan: Service) -> None:
    signed_in = {"jobnaut_token": "some-token"}
    with WebClient(base_url=orphan.url, cookies=signed_in) as client:
        assert client.get("/account").status_code == 200  # the page itself asks nothing
        changed = client.post("/account/password", data={"current_password": "old pw 1",
                                                         "new_password": "a new long one"})
        assert_degraded(changed)
        assert "Change your password" in changed.text and "a new long one" not in changed.text
        deleted = client.post("/account/delete", data={"password": "old pw 1"})
        assert_degraded(deleted)
        assert "jobnaut_token" in client.cookies  # still signed in: nothing was deleted
        welcome = client.get("/welcome")
        assert_degraded(welcome)
