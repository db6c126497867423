"""The JSearch importer against a real local HTTP server and real databases."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jobnaut.app import schema
from jobnaut.app.db import make_engine, make_sessionmaker
from jobnaut.app.importer import (
    ApiKeyRejected,
    FeedUnavailable,
    ImportFailed,
    JSearchClient,
    RetryPolicy,
    UnexpectedResponse,
    import_jobs,
    map_posting,
    mapping,
)
from jobnaut.app.jobs.models import Job
from jobnaut.app.jobs.schemas import JobQuery
from jobnaut.app.jobs.search import search_jobs
from jobnaut.cli import importer_cmd
from jobnaut.config import parse_database_url
from tests.support.databases import jobs_tables_analysed
from tests.support.fake_jsearch import FakeJSearch, posting

KEY = "test-key-5f1e9a0c77d2"
FAST = RetryPolicy(attempts=3, backoff=0.01, backoff_max=0.05, retry_after_max=0.2)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(parse_database_url(database_url))
    schema.upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def feed() -> Iterator[FakeJSearch]:
    with FakeJSearch(postings=[posting(n) for n in range(25)], api_key=KEY) as server:
        yield server


def client_for(feed: FakeJSearch, key: str = KEY, **kwargs: object) -> JSearchClient:
    kwargs.setdefault("retry", FAST)
    return JSearchClient(feed.url, key, **kwargs)  # type: ignore[arg-type]


def count_jobs(sessions: sessionmaker[Session]) -> int:
    with sessions() as db:
        return db.scalar(select(func.count()).select_from(Job)) or 0


def search(sessions: sessionmaker[Session], **query: object) -> tuple[int, list[Job]]:
    """The total and the page's jobs (as ORM objects, in page order) of a search."""
    with sessions() as db:
        found = search_jobs(db=db, query=JobQuery.model_validate(query))
        ids = [job["id"] for job in found.items]
        jobs = {job.id: job for job in db.scalars(select(Job).where(Job.id.in_(ids)))}
        return found.total, [jobs[job_id] for job_id in ids]


# --- mapping (pure) --------------------------------------------------------------------


@pytest.mark.parametrize(("months", "level"), [
    (None, "mid"), (0, "entry"), (23, "entry"), (24, "mid"), (59, "mid"), (60, "senior"),
    (119, "senior"), (120, "lead"), (300, "lead"),
])
def test_experience_level_from_required_months(months: int | None, level: str) -> None:
    raw = posting(1, job_required_experience={"required_experience_in_months": months,
                                              "experience_mentioned": months is not None})
    assert map_posting(raw).experience_level == level
    assert map_posting(posting(1, job_required_experience=None)).experience_level == "mid"


def test_mapping_fills_every_job_field() -> None:
    job = map_posting(posting(1, job_required_skills=["Python", " Django ", "python"]))
    assert job.source == "jsearch" and job.external_id == "fake-0001=="
    assert job.title == "Kubernetes Platform Engineer" and job.company == "Employer 1"
    assert job.location == "Austin, TX"
    assert job.skills == ("python", "django")
    assert (job.salary_min, job.salary_max, job.currency) == (61000, 81000, "USD")
    assert job.posted_at == datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    assert job.url == "https://jobs.example/apply/1"
    # A city that is its own state is shown with its country.
    assert map_posting(posting(0)).location == "Berlin, DE"
    assert map_posting(posting(0, job_city=None, job_state=None, job_country=None,
                               job_is_remote=True)).location == "Remote"


def test_skills_come_from_the_description_when_the_posting_lists_none() -> None:
    raw = posting(2, job_required_skills=None, job_description=(
        "Build pipelines in Python and SQL on AWS; Kubernetes and Node.js a plus. "
        "Ready to go? Apply now."))
    assert set(map_posting(raw).skills) == {"python", "sql", "aws", "kubernetes", "node.js"}
    assert "go" in map_posting(posting(2, job_required_skills=[],
                                       job_description="Services in Go.")).skills
    assert set(mapping.SKILL_VOCABULARY) >= {"python", "react", "terraform"}


def test_hourly_salaries_are_stored_per_year() -> None:
    job = map_posting(posting(3, job_min_salary=50, job_max_salary=40, job_salary_period="HOUR"))
    assert (job.salary_min, job.salary_max) == (40 * 2080, 50 * 2080)
    assert map_posting(posting(3, job_min_salary=None, job_max_salary=None)).salary_min is None


def test_posting_without_an_id_is_skipped(sessions: sessionmaker[Session],
                                          feed: FakeJSearch) -> None:
    feed.postings = [posting(1), posting(2, job_id=None), posting(3, job_title="")]
    with client_for(feed) as client:
        result = import_jobs(sessions, client, "python")
    assert (result.fetched, result.inserted, result.skipped) == (3, 1, 2)
    assert count_jobs(sessions) == 1


# --- import against the fake feed and real databases -----------------------------------


def test_import_inserts_jobs_found_by_full_text_search(sessions: sessionmaker[Session],
                                                       feed: FakeJSearch) -> None:
    with client_for(feed) as client:
        result = import_jobs(sessions, client, "python developer", pages=5, country="DE",
                             date_posted="week")
    # 25 postings make three pages; the empty fourth page ends the import.
    assert (result.pages, result.fetched, result.inserted, result.updated) == (3, 25, 25, 0)
    assert count_jobs(sessions) == 25
    assert len(feed.requests) == 4
    first = feed.requests[0]
    assert first.path == "/search"
    assert first.params == {"query": "python developer", "page": "1", "num_pages": "1",
                            "country": "de", "date_posted": "week"}
    assert first.headers["x-rapidapi-key"] == KEY

    total, jobs = search(sessions, q="kubernetes")
    assert total == 8  # postings 1, 4, 7, … 22
    assert {j.title for j in jobs} == {"Kubernetes Platform Engineer"}
    assert all(j.source == "jsearch" for j in jobs)
    total, jobs = search(sessions, q="python", skills=["django"], experience_level="lead")
    assert total >= 1 and all("django" in j.skill_names for j in jobs)
    assert search(sessions, q="reliable services")[0] == 25  # description words


def test_an_import_leaves_the_planner_statistics_fresh(database_url: str,
                                                      sessions: sessionmaker[Session],
                                                      feed: FakeJSearch) -> None:
    assert not jobs_tables_analysed(database_url)
    with client_for(feed) as client:
        import_jobs(sessions, client, "python")
    assert jobs_tables_analysed(database_url)


def test_a_failed_import_still_refreshes_the_statistics_of_the_pages_saved(
        database_url: str, sessions: sessionmaker[Session], feed: FakeJSearch) -> None:
    feed.fail_page(2, 503)
    with client_for(feed) as client, pytest.raises(ImportFailed):
        import_jobs(sessions, client, "python", pages=3)
    assert count_jobs(sessions) == 10
    assert jobs_tables_analysed(database_url)


def test_reimport_updates_instead_of_duplicating(sessions: sessionmaker[Session],
                                                 feed: FakeJSearch) -> None:
    with client_for(feed) as client:
        import_jobs(sessions, client, "python", pages=3)
        feed.postings[0] = posting(0, job_title="Staff Rust Engineer",
                                   job_required_skills=["Rust", "Python"])
        result = import_jobs(sessions, client, "python", pages=3)
    assert (result.fetched, result.inserted, result.updated) == (25, 0, 25)
    assert count_jobs(sessions) == 25
    with sessions() as db:
        job = db.scalars(select(Job).where(Job.external_id == "fake-0000==")).one()
        assert job.title == "Staff Rust Engineer"
        assert job.skill_names == ["python", "rust"]  # replaced, not added to
    # The full-text index follows the update.
    assert [j.external_id for j in search(sessions, q="rust")[1]] == ["fake-0000=="]
    assert search(sessions, q="staff")[0] == 1


def test_transient_503_and_429_are_retried(sessions: sessionmaker[Session],
                                           feed: FakeJSearch) -> None:
    feed.fail(503)
    feed.fail(429, retry_after="7")
    slept: list[float] = []
    with client_for(feed, sleep=slept.append) as client:
        result = import_jobs(sessions, client, "python")
    assert result.inserted == 10
    assert len(feed.requests) == 3
    assert len(slept) == 2
    assert 0.01 <= slept[0] <= 0.02  # backoff
    assert slept[1] == pytest.approx(0.2)  # Retry-After, capped


def test_retry_after_is_waited_for_real(feed: FakeJSearch) -> None:
    feed.fail(429, retry_after="1")
    policy = RetryPolicy(attempts=2, backoff=0.01, retry_after_max=0.5)
    started = time.monotonic()
    with client_for(feed, retry=policy) as client:
        assert len(client.search_page("python")) == 10
    assert 0.45 <= time.monotonic() - started < 3


def test_gives_up_after_the_retry_budget_keeping_earlier_pages(
        sessions: sessionmaker[Session], feed: FakeJSearch) -> None:
    feed.fail_page(2, 503)
    with client_for(feed) as client, pytest.raises(ImportFailed) as failure:
        import_jobs(sessions, client, "python", pages=3)
    assert isinstance(failure.value.__cause__, FeedUnavailable)
    assert str(failure.value) == "job feed unavailable for page 2: HTTP 503 after 3 attempts"
    assert failure.value.page == 2
    assert failure.value.result.inserted == 10
    assert len(feed.requests) == 1 + 3
    with sessions() as db:  # page 1 saved, nothing of page 2
        ids = set(db.scalars(select(Job.external_id)))
    assert ids == {f"fake-{n:04d}==" for n in range(10)}


def test_malformed_page_is_rejected_whole(sessions: sessionmaker[Session],
                                          feed: FakeJSearch) -> None:
    feed.garbage()
    with client_for(feed) as client, pytest.raises(ImportFailed,
                                                   match=r"unexpected response.*not JSON"):
        import_jobs(sessions, client, "python")
    feed.respond({"status": "OK", "data": [posting(1), "not a posting"]})
    with client_for(feed) as client, pytest.raises(ImportFailed) as failure:
        import_jobs(sessions, client, "python")
    assert isinstance(failure.value.__cause__, UnexpectedResponse)
    assert count_jobs(sessions) == 0
    feed.respond({"status": "ERROR", "error": {"message": "Invalid country", "code": 400}})
    with client_for(feed) as client, pytest.raises(ImportFailed, match="Invalid country"):
        import_jobs(sessions, client, "python")


def test_timeout_gives_a_clear_error(feed: FakeJSearch) -> None:
    feed.hang(10, times=5)
    policy = RetryPolicy(attempts=2, backoff=0.01)
    started = time.monotonic()
    with client_for(feed, timeout=httpx.Timeout(0.3), retry=policy) as client, \
            pytest.raises(FeedUnavailable) as failure:
        client.search_page("python")
    assert time.monotonic() - started < 3
    assert str(failure.value) == ("job feed unavailable for page 1: timed out "
                                  "(waiting for the response) after 2 attempts")


def test_connection_refused_is_retried_then_reported() -> None:
    feed = FakeJSearch().start()
    url = feed.url
    feed.stop()  # nothing listens there now
    slept: list[float] = []
    with JSearchClient(url, KEY, retry=FAST, sleep=slept.append) as client, \
            pytest.raises(FeedUnavailable, match="could not connect"):
        client.search_page("python")
    assert len(slept) == 2


def test_wrong_key_is_rejected_without_showing_it(feed: FakeJSearch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    wrong = "wrong-key-0123456789abcdef"
    caplog.set_level(logging.DEBUG)
    with client_for(feed, key=wrong) as client, pytest.raises(ApiKeyRejected) as failure:
        client.search_page("python")
    message = str(failure.value)
    assert "API key rejected" in message and "JSEARCH_API_KEY" in message
    assert len(feed.requests) == 1  # not retried
    assert wrong not in message + repr(failure.value) + repr(client) + caplog.text


# --- the command -----------------------------------------------------------------------


def _env(database_url: str, feed: FakeJSearch, key: str = KEY) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "JSEARCH_API_URL": feed.url, "JSEARCH_API_KEY": key}


def test_command_imports_and_reports_counts(database_url: str,
                                            sessions: sessionmaker[Session],
                                            feed: FakeJSearch) -> None:
    runner = CliRunner()
    args = ["jobs", "--query", "python developer", "--pages", "2", "--country", "de",
            "--date-posted", "week"]
    first = runner.invoke(importer_cmd.app, args, env=_env(database_url, feed))
    assert first.exit_code == 0, first.output
    assert "fetched 20, inserted 20, updated 0" in first.output
    second = runner.invoke(importer_cmd.app, args, env=_env(database_url, feed))
    assert "fetched 20, inserted 0, updated 20" in second.output
    assert feed.requests[0].params["date_posted"] == "week"
    assert count_jobs(sessions) == 20


def test_command_fails_in_one_line_without_the_key(database_url: str,
                                                   sessions: sessionmaker[Session],
                                                   feed: FakeJSearch) -> None:
    wrong = "wrong-key-0123456789abcdef"
    result = CliRunner().invoke(importer_cmd.app, ["jobs", "--query", "python"],
                                env=_env(database_url, feed, key=wrong))
    assert result.exit_code == 1
    assert "FAILED:" in result.output and "API key rejected" in result.output
    assert wrong not in result.output


def test_command_refuses_an_unmigrated_database(tmp_path: Path, feed: FakeJSearch) -> None:
    result = CliRunner().invoke(importer_cmd.app, ["jobs", "--query", "python"],
                                env=_env(f"sqlite:///{tmp_path / 'empty.db'}", feed))
    assert result.exit_code == 1
    assert "migrate it first" in result.output


def test_jobnaut_import_jobs_end_to_end(database_url: str, sessions: sessionmaker[Session],
                                        feed: FakeJSearch, tmp_path: Path) -> None:
    """`python -m jobnaut import jobs …` as a real process (needs the command registered)."""
    env = {**os.environ, **_env(database_url, feed)}
    command = [sys.executable, "-m", "jobnaut", "import", "jobs", "--query", "python developer",
               "--pages", "2", "--country", "de", "--date-posted", "week"]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fetched 20, inserted 20, updated 0" in done.stdout
    assert count_jobs(sessions) == 20
    assert search(sessions, q="python")[0] >= 1

    env["JSEARCH_API_KEY"] = "wrong-key-0123456789abcdef"
    failed = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert failed.returncode == 1
    assert failed.stderr.strip().startswith("FAILED:")
    assert "API key rejected" in " ".join(failed.stderr.split())
    assert "wrong-key" not in failed.stdout + failed.stderr


@pytest.mark.parametrize("link", [
    "javascript:alert(document.cookie)", " JavaScript:alert(1)",
    "data:text/html,<script>x</script>", "vbscript:msgbox", "https:///evil",
    "//evil.example/apply", "http://a b.example/",
])
def test_apply_links_that_are_not_http_are_dropped(link: str) -> None:
    """Issue 12, item 9: API clients, not only the web app, must not get a script link."""
    assert map_posting(posting(1, job_apply_link=link)).url is None


def test_stored_script_links_are_not_served_by_the_api() -> None:
    from jobnaut.app.jobs.schemas import JobDetail

    fields = {"id": 1, "title": "t", "company": "c", "location": "l", "remote": False,
              "salary_min": None, "salary_max": None, "currency": "USD",
              "experience_level": "mid", "skills": [], "posted_at": datetime.now(UTC),
              "description": "d"}
    assert JobDetail(**fields, url="javascript:alert(1)").url is None
    assert JobDetail(**fields, url="https://jobs.example/1").url == "https://jobs.example/1"
