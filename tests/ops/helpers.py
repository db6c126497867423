"""What the control-plane tests do as users and as a client hammering the public ports."""

from __future__ import annotations

import http.client
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx

FAULTS: dict[str, dict[str, tuple[str, str]]] = {
    "crash-at-start": {"src/jobnaut/app/main.py": (
        "    engine = make_engine(settings.database_url)",
        "    raise RuntimeError('faulty release: crashes at start')\n"
        "    engine = make_engine(settings.database_url)")},
    "not-ready": {"src/jobnaut/app/system/readiness.py": (
        'return True, "valid"', 'return False, "faulty release: readiness fails"')},
    "search-500": {"src/jobnaut/app/jobs/routes.py": (
        "    found = search.search_jobs(db=db, query=query)",
        "    raise RuntimeError('faulty release: search is broken')")},
    "frontend-cannot-reach-api": {"src/jobnaut/config.py": (
        'api_base_url=parse_http_url(values["API_BASE_URL"]),',
        'api_base_url="http://127.0.0.1:9",')},
}


def fail_on_flag(line: str, flags: Path, what: str) -> tuple[str, str]:
    """An edit for `SourceRepo.commit_variant`: before `line` (indented 4), the release
    raises once a file named after it (JOBNAUT_RELEASE) exists in `flags`. Such a release
    passes every check before traffic, then fails the users it is given."""
    return line, (f"    import os, pathlib\n"
                  f"    if (pathlib.Path({str(flags)!r}) / os.environ.get('JOBNAUT_RELEASE', "
                  f"'-')).exists():\n"
                  f"        raise RuntimeError('faulty release: {what}')\n"
                  f"{line}")


@dataclass
class UserData:
    """A person who signed up, filled a profile and saved a job: what must never be lost."""

    api: str
    email: str = field(default_factory=lambda: f"user-{uuid.uuid4().hex[:8]}@example.com")
    token: str = ""
    saved_id: int = 0

    def create(self) -> UserData:
        with httpx.Client(base_url=self.api, timeout=10) as client:
            r = client.post("/api/auth/signup", json={"email": self.email,
                                                       "password": "correct horse battery"})
            assert r.status_code == 201, r.text
            self.token = r.json()["token"]
            auth = {"authorization": f"Bearer {self.token}"}
            r = client.put("/api/profile", headers=auth, json={
                "full_name": "Ada Lovelace", "location": "London",
                "experience_level": "senior", "skills": ["python", "sql"]})
            assert r.status_code == 200, r.text
            job = client.get("/api/jobs", params={"q": "engineer", "per_page": 1}).json()
            r = client.post("/api/saved", headers=auth,
                            json={"job_id": job["items"][0]["id"], "notes": "call Tuesday"})
            assert r.status_code == 201, r.text
            self.saved_id = r.json()["id"]
        return self

    def assert_intact(self, api: str | None = None) -> None:
        with httpx.Client(base_url=api or self.api, timeout=10) as client:
            auth = {"authorization": f"Bearer {self.token}"}
            me = client.get("/api/me", headers=auth)
            assert me.status_code == 200, me.text
            assert me.json()["profile"]["full_name"] == "Ada Lovelace"
            saved = client.get(f"/api/saved/{self.saved_id}", headers=auth)
            assert saved.status_code == 200, saved.text
            assert saved.json()["notes"] == "call Tuesday"


class TrafficLoop:
    """Sends requests to the public ports until stopped; counts every failure."""

    def __init__(self, urls: list[str]):
        self.urls = urls
        self.ok = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            sent = 0
            while not self._stop.is_set() and sent < 100_000:
                url = self.urls[sent % len(self.urls)]
                sent += 1
                try:
                    response = client.get(url)
                except httpx.TransportError as exc:
                    self.failures.append(f"{url}: {type(exc).__name__}")
                    continue
                if response.status_code >= 500:
                    self.failures.append(f"{url}: HTTP {response.status_code}")
                else:
                    self.ok += 1

    def __enter__(self) -> TrafficLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(60)


def fresh_get(port: int, path: str = "/", cookie: str | None = None) -> tuple[int, str, str]:
    """One GET on a new connection, as a new client makes it: (status, body, Set-Cookie).
    (http.client: an httpx client per request would cost ~50 ms of TLS setup each.)"""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, response.read().decode(), response.getheader("Set-Cookie", "")
    finally:
        connection.close()


class Clients:
    """`count` client threads running `_run` until the block ends (a subclass's load)."""

    def __init__(self, count: int):
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]

    def _run(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
