"""The synthetic user load that runs during a drill: people who sign in, search, save jobs
and write notes through the public API, as users do. Every request is a sample (time,
outcome, latency); every write the service acknowledged is remembered, so that the drill
can count the acknowledged writes that are missing afterwards (its RPO)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "drill load password 42"  # a throwaway account on a staging copy
WRITES = ("save", "note")  # the ops whose acknowledged words the RPO counts
WORDS = ("engineer", "python", "data", "developer", "manager", "analyst", "designer")
FAILED_PAUSE = 1.0  # seconds a user waits after a failed request
SIGN_IN_EVERY = 120.0  # seconds: a sign-in hashes a password (~0.5 s of a core) behind a
# gate of one at a time per backend, which the release checks of a deploy also pass through


@dataclass(frozen=True)
class Sample:
    at: float  # wall-clock seconds when the request was sent
    op: str  # sign_in | search | save | open (a saved job) | note
    ok: bool
    status: int  # 0 when no answer came (connection refused, timeout)
    latency: float

    def as_json(self) -> list[Any]:
        return [round(self.at, 3), self.op, self.ok, self.status, round(self.latency, 4)]


# One saved-job row: its id and creation time. A restore that discards a row lets the
# database hand its id out again, so the id alone would mix the lost row with its successor.
RowKey = tuple[int, str]
MAX_NOTES = 4000  # characters: a row this full gets no more notes (the API allows 5000)


@dataclass
class Acknowledged:
    """The writes the service acknowledged on one saved-job row of a load user: each is a
    word the notes must still contain. Notes are only ever appended to what the service
    returns, so a write a restore discarded never comes back through a later one."""

    user: str
    saved_id: int
    created_at: str
    words: list[str] = field(default_factory=list)


@dataclass
class LoadResult:
    samples: list[Sample]
    writes: dict[RowKey, Acknowledged]
    users: list[str]

    @property
    def acknowledged(self) -> int:
        return sum(len(w.words) for w in self.writes.values())

    @property
    def in_doubt(self) -> int:
        """Writes sent that got no answer or a 5xx: the service may have stored them without
        saying so, so a restore may discard a row the load never saw acknowledged."""
        return sum(1 for s in self.samples
                   if s.op in WRITES and (s.status == 0 or s.status >= 500))


@dataclass
class _User:
    email: str
    token: str = ""
    signed_in_at: float = 0.0
    saved: list[int] = field(default_factory=list)
    failed: bool = False  # the last request failed: a person waits a moment, then retries


class SyntheticLoad:
    """`users` threads, each looping over search, save, note (and a sign-in now and then)
    against `api` until stopped. Failures are 5xx answers, 401 for a session that was
    valid (an outage logged the user out), and requests that got no answer."""

    def __init__(self, api: str, *, users: int = 2, pause: float = 0.2, timeout: float = 10):
        self.api, self.pause, self.timeout = api.rstrip("/"), pause, timeout
        tag = uuid.uuid4().hex[:6]
        self._users = [_User(f"drill-{tag}-{n}@drill.jobnaut.example.com") for n in range(users)]
        self._samples: list[Sample] = []
        self._writes: dict[RowKey, Acknowledged] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._jobs: list[int] = []

    # --- control ---------------------------------------------------------------------------

    def start(self) -> SyntheticLoad:
        with httpx.Client(timeout=self.timeout) as client:
            found = client.get(f"{self.api}/api/jobs", params={"per_page": 100})
            found.raise_for_status()
            self._jobs = [int(j["id"]) for j in found.json()["items"]]
            for user in self._users:  # sign-ups before the clock: they are not the drill
                answer = client.post(f"{self.api}/api/auth/signup",
                                     json={"email": user.email, "password": PASSWORD})
                answer.raise_for_status()
                user.token, user.signed_in_at = answer.json()["token"], time.time()
        if not self._jobs:
            raise RuntimeError("the staging database has no jobs to save")
        for n, user in enumerate(self._users):
            thread = threading.Thread(target=self._run, args=(user, random.Random(n)),
                                      name=f"drill-load-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> LoadResult:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        with self._lock:
            return LoadResult(list(self._samples), dict(self._writes),
                              [u.email for u in self._users])

    def samples_since(self, at: float) -> list[Sample]:
        with self._lock:
            return [s for s in self._samples if s.at >= at]

    # --- one user ----------------------------------------------------------------------------

    def _run(self, user: _User, rng: random.Random) -> None:
        with httpx.Client(base_url=self.api, timeout=self.timeout) as client:
            while not self._stop.is_set():
                if not user.token or time.time() - user.signed_in_at > SIGN_IN_EVERY:
                    self._sign_in(client, user)
                else:
                    action = rng.choice((self._search, self._save, self._note, self._note))
                    action(client, user, rng)
                self._stop.wait(FAILED_PAUSE if user.failed else self.pause)

    def _request(self, client: httpx.Client, op: str, method: str, path: str,
                 user: _User | None = None, **kwargs: Any) -> httpx.Response | None:
        headers = {"authorization": f"Bearer {user.token}"} if user and user.token else {}
        sent = time.time()
        try:
            answer: httpx.Response | None = client.request(method, path, headers=headers,
                                                           **kwargs)
        except httpx.HTTPError:
            answer = None
        status = answer.status_code if answer is not None else 0
        ok = answer is not None and status < 500 and status != 401
        with self._lock:
            self._samples.append(Sample(sent, op, ok, status, time.time() - sent))
        if user is not None:
            user.failed = not ok
        if status == 401 and user is not None:
            user.token = ""  # signed out by the outage: sign in again
        return answer

    def _sign_in(self, client: httpx.Client, user: _User) -> None:
        body = {"email": user.email, "password": PASSWORD}
        answer = self._request(client, "sign_in", "POST", "/api/auth/signin", user,
                               json=body)
        if answer is not None and answer.status_code == 401:
            # the account itself is gone (a restore discarded it): sign up again
            answer = self._request(client, "sign_in", "POST", "/api/auth/signup", user,
                                   json=body)
        if answer is not None and answer.status_code in (200, 201):
            user.token, user.signed_in_at = answer.json()["token"], time.time()

    def _search(self, client: httpx.Client, user: _User, rng: random.Random) -> None:
        self._request(client, "search", "GET", "/api/jobs", user,
                      params={"q": rng.choice(WORDS), "per_page": 10})

    def _save(self, client: httpx.Client, user: _User, rng: random.Random) -> None:
        word = _word()
        answer = self._request(client, "save", "POST", "/api/saved", user,
                               json={"job_id": rng.choice(self._jobs), "notes": word})
        if answer is not None and answer.status_code == 201:
            self._acknowledge(user, answer.json(), word)

    def _note(self, client: httpx.Client, user: _User, rng: random.Random) -> None:
        """Open a saved job and add a word to its notes, as a person adds to a note."""
        if not user.saved:
            self._save(client, user, rng)
            return
        saved_id = rng.choice(user.saved)
        shown = self._request(client, "open", "GET", f"/api/saved/{saved_id}", user)
        if shown is None or shown.status_code != 200:
            if shown is not None and shown.status_code == 404:
                user.saved.remove(saved_id)  # discarded by a restore: the verify counts it
            return
        notes = shown.json()["notes"] or ""
        if len(notes) > MAX_NOTES:
            user.saved.remove(saved_id)
            return
        word = _word()
        answer = self._request(client, "note", "PATCH", f"/api/saved/{saved_id}", user,
                               json={"notes": f"{notes} {word}".strip()})
        if answer is not None and answer.status_code == 200:
            self._acknowledge(user, answer.json(), word)

    def _acknowledge(self, user: _User, saved: dict[str, Any], word: str) -> None:
        key = (int(saved["id"]), str(saved["created_at"]))
        with self._lock:
            self._writes.setdefault(key, Acknowledged(user.email, *key)).words.append(word)
        if key[0] not in user.saved:
            user.saved.append(key[0])


def _word() -> str:
    return "w" + uuid.uuid4().hex[:10]


def missing_writes(api: str, result: LoadResult, timeout: float = 10) -> list[Acknowledged]:
    """The rows holding acknowledged writes the service no longer has (each with the words
    that are gone): a saved job that is gone, or whose notes lack an acknowledged word.
    Read through the API, as the user would see it (a user whose account is gone has lost
    every write)."""
    found: dict[RowKey, set[str]] = {}
    with httpx.Client(base_url=api.rstrip("/"), timeout=timeout) as client:
        for email in result.users:
            answer = client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
            if answer.status_code != 200:
                continue
            auth = {"authorization": f"Bearer {answer.json()['token']}"}
            listed = client.get("/api/saved", headers=auth)
            listed.raise_for_status()
            found.update({(int(item["id"]), str(item["created_at"])):
                          set((item["notes"] or "").split()) for item in listed.json()["items"]})
    lost = []
    for key, acked in sorted(result.writes.items()):
        gone = [w for w in acked.words if w not in found.get(key, set())]
        if gone:
            lost.append(Acknowledged(acked.user, acked.saved_id, acked.created_at, gone))
    return lost
