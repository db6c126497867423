"""A real HTTP server on 127.0.0.1 that speaks the JSearch API, for importer tests.

    with FakeJSearch(postings=[posting(n) for n in range(25)], api_key="k") as feed:
        feed.fail(503, times=2)              # the next two requests get a 503
        feed.fail(429, times=1, retry_after="1")
        feed.hang(5.0)                       # the next request waits 5 s before answering
        feed.garbage()                       # the next request gets a body that is not JSON
        feed.fail_page(2, 503)               # every request for page 2 gets a 503
        ... JSearchClient(feed.url, "k") ...
        feed.requests                        # what was asked, in order

GET /search?query=…&page=N&num_pages=1 answers page N of `postings` (`per_page` each).
Scripted behaviours are consumed one request at a time, oldest first.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Recorded:
    path: str
    params: dict[str, str]
    headers: dict[str, str]  # lower-cased names


@dataclass(frozen=True)
class _Behaviour:
    kind: str  # "fail", "hang", "garbage", "body"
    status: int = 200
    retry_after: str | None = None
    seconds: float = 0.0
    body: bytes = b""


@dataclass
class FakeJSearch:
    postings: list[dict[str, Any]] = field(default_factory=list)
    per_page: int = 10
    api_key: str | None = None  # when set, requests must carry it in X-RapidAPI-Key
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._script: deque[_Behaviour] = deque()
        self._page_failures: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- scripting -------------------------------------------------------------------

    def fail(self, status: int, times: int = 1, retry_after: str | None = None) -> None:
        for _ in range(times):
            self._push(_Behaviour("fail", status=status, retry_after=retry_after))

    def hang(self, seconds: float, times: int = 1) -> None:
        for _ in range(times):
            self._push(_Behaviour("hang", seconds=seconds))

    def garbage(self, times: int = 1, body: bytes = b"<html>Bad Gateway</html>") -> None:
        for _ in range(times):
            self._push(_Behaviour("garbage", body=body))

    def respond(self, payload: object, times: int = 1) -> None:
        """The next request(s) get exactly this JSON payload."""
        for _ in range(times):
            self._push(_Behaviour("body", body=json.dumps(payload).encode()))

    def fail_page(self, page: int, status: int) -> None:
        """Every request for `page` fails with `status` (until `heal_page`)."""
        with self._lock:
            self._page_failures[page] = status

    def heal_page(self, page: int) -> None:
        with self._lock:
            self._page_failures.pop(page, None)

    def _push(self, behaviour: _Behaviour) -> None:
        with self._lock:
            self._script.append(behaviour)

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeJSearch:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                                        name="fake-jsearch",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FakeJSearch:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- answering ---------------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        params = {k: v[-1] for k, v in parse_qs(split.query).items()}
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self.requests.append(Recorded(split.path, params, headers))
            behaviour = self._script.popleft() if self._script else None
        if behaviour is not None and behaviour.kind == "hang":
            if self._stopping.wait(behaviour.seconds):
                return
            behaviour = None
        if split.path != "/search":
            return _send_json(handler, 404, {"message": "Endpoint does not exist"})
        if self.api_key is not None and headers.get("x-rapidapi-key") != self.api_key:
            return _send_json(handler, 403, {
                "message": "You are not subscribed to this API."})
        if behaviour is not None:
            if behaviour.kind == "fail":
                extra = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
                return _send_json(handler, behaviour.status, {"message": "try again"}, extra)
            if behaviour.kind == "garbage":
                return _send(handler, 200, behaviour.body, "text/html")
            return _send(handler, 200, behaviour.body, "application/json")
        if not params.get("query"):
            return _send_json(handler, 400, {"status": "ERROR", "error": {
                "message": "query is required", "code": 400}})
        try:
            page = int(params.get("page", "1"))
        except ValueError:
            return _send_json(handler, 400, {"status": "ERROR", "error": {
                "message": "page must be a number", "code": 400}})
        with self._lock:
            page_status = self._page_failures.get(page)
        if page_status is not None:
            return _send_json(handler, page_status, {"message": "upstream error"})
        start = (page - 1) * self.per_page
        data = self.postings[start:start + self.per_page]
        _send_json(handler, 200, {"status": "OK", "request_id": f"fake-{len(self.requests)}",
                                  "parameters": params, "data": data})


def _handler_for(fake: FakeJSearch) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                fake._answer(self)  # (a client that timed out closes its end)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


def _send_json(handler: BaseHTTPRequestHandler, status: int, payload: object,
               headers: dict[str, str] | None = None) -> None:
    _send(handler, status, json.dumps(payload).encode(), "application/json", headers)


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str,
          headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


SKILLS_BY_ROLE = {
    "Python Developer": ["Python", "Django", "PostgreSQL"],
    "Kubernetes Platform Engineer": ["Kubernetes", "Terraform", "Go"],
    "Data Engineer": ["SQL", "Spark", "Airflow"],
}


def posting(n: int, **overrides: Any) -> dict[str, Any]:
    """A realistic JSearch posting numbered `n`; keyword arguments replace fields."""
    roles = sorted(SKILLS_BY_ROLE)
    role = roles[n % len(roles)]
    cities = [("Berlin", "Berlin", "DE"), ("Austin", "TX", "US"), ("Munich", "Bavaria", "DE")]
    city, state, country = cities[n % len(cities)]
    raw: dict[str, Any] = {
        "job_id": f"fake-{n:04d}==",
        "employer_name": f"Employer {n % 7}",
        "job_title": role,
        "job_description": (f"We are looking for a {role.lower()} to join our team. "
                            "You will build reliable services."),
        "job_city": city,
        "job_state": state,
        "job_country": country,
        "job_is_remote": n % 4 == 0,
        "job_min_salary": 60000 + 1000 * n,
        "job_max_salary": 80000 + 1000 * n,
        "job_salary_currency": "EUR" if country == "DE" else "USD",
        "job_salary_period": "YEAR",
        "job_posted_at_datetime_utc": f"2026-11-{1 + n % 28:02d}T09:30:00.000Z",
        "job_apply_link": f"https://jobs.example/apply/{n}",
        "job_required_skills": SKILLS_BY_ROLE[role],
        "job_required_experience": {
            "no_experience_required": False,
            "required_experience_in_months": [None, 12, 36, 84, 150][n % 5],
            "experience_mentioned": n % 5 != 0,
            "experience_preferred": False,
        },
    }
    raw.update(overrides)
    return raw
