"""Job search over more jobs than it counts (issue 11), on PostgreSQL and SQLite.

10,600 generated jobs: more than TOTAL_CAP, so the total of a broad search is capped, and
terms that match more than RANK_WINDOW jobs, so relevance ranks only the window.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobnaut.app import schema
from jobnaut.app.db import make_engine, make_sessionmaker
from jobnaut.app.jobs.demo import load_generated
from jobnaut.app.jobs.schemas import TOTAL_CAP
from jobnaut.app.jobs.search import RANK_WINDOW
from jobnaut.config import parse_database_url
from tests.api.test_search import search, total
from tests.browser.stack import run_frontend
from tests.conftest import backend_env
from tests.support.processes import Service, run_service

JOBS = TOTAL_CAP + 600
# In the generated jobs: 1,208 mention machine learning, 728 of them in the title
# ("Machine Learning Engineer"), the rest as a skill (data scientists).
ML_MATCHES = 1208


@pytest.fixture(scope="module")
def large_backend(module_database_url: str, encryption_key: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    engine = make_engine(parse_database_url(module_database_url))
    try:
        schema.upgrade(engine)
        assert load_generated(make_sessionmaker(engine), JOBS, chunk=5000) == JOBS
    finally:
        engine.dispose()
    with run_service("backend", backend_env(module_database_url, encryption_key),
                     tmp_path_factory.mktemp("logs")) as service:
        yield service


@pytest.fixture
def api(large_backend: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=large_backend.url, timeout=60) as client:
        yield client


def all_ids(api: httpx.Client, per_page: int, **params: Any) -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        items = search(api, per_page=per_page, page=page, **params)["items"]
        if not items:
            return ids
        ids += [job["id"] for job in items]
        page += 1


# --- capped totals -----------------------------------------------------------------------


def test_a_total_above_the_cap_is_the_cap_and_says_so(api: httpx.Client) -> None:
    body = search(api)
    assert body["total"] == TOTAL_CAP
    assert body["total_capped"] is True
    assert len(body["items"]) == 20
    assert search(api, q="engineer", salary_min=0)["total_capped"] is False  # 4,966


def test_totals_below_the_cap_are_exact(api: httpx.Client) -> None:
    remote, office = search(api, remote="true"), search(api, remote="false")
    assert not remote["total_capped"] and not office["total_capped"]
    assert remote["total"] + office["total"] == JOBS
    assert total(api, q="remote friendly") == remote["total"]  # only remote jobs say so


def test_pages_past_a_capped_total_still_list_the_jobs_there(api: httpx.Client) -> None:
    past = search(api, sort="newest", per_page=100, page=TOTAL_CAP // 100 + 1)
    assert past["total"] == TOTAL_CAP and past["total_capped"] is True
    assert len(past["items"]) == 100
    last = search(api, sort="newest", per_page=100, page=JOBS // 100)
    assert len(last["items"]) == 100
    assert search(api, sort="newest", per_page=100, page=JOBS // 100 + 1)["items"] == []
    before = search(api, sort="newest", per_page=100, page=TOTAL_CAP // 100)["items"]
    assert before[-1]["posted_at"] >= past["items"][0]["posted_at"]


# --- relevance within the window ---------------------------------------------------------


def test_a_broad_term_ranks_its_most_recently_added_matches_then_lists_the_rest(
        api: httpx.Client) -> None:
    ids = all_ids(api, 100, q="machine learning")
    assert len(ids) == len(set(ids)) == ML_MATCHES == total(api, q="machine learning")
    assert ML_MATCHES > RANK_WINDOW
    window, rest = ids[:RANK_WINDOW], ids[RANK_WINDOW:]
    assert set(window) == set(sorted(ids, reverse=True)[:RANK_WINDOW])
    assert rest == sorted(rest, reverse=True)
    assert window != sorted(window, reverse=True)  # ranked, not in id order


def test_the_first_page_of_a_broad_term_is_still_the_most_relevant(api: httpx.Client) -> None:
    first = search(api, q="machine learning", per_page=100)["items"]
    assert all(job["title"].endswith("Machine Learning Engineer") for job in first[:20]), first
    window_end = search(api, q="machine learning", per_page=10, page=RANK_WINDOW // 10)
    assert not any("Machine Learning" in job["title"] for job in window_end["items"][-5:])
    assert all("machine learning" in job["skills"] for job in window_end["items"])


def test_pages_across_the_window_edge_join_up(api: httpx.Client) -> None:
    # 45 a page: page 23 holds positions 990-1034, across the end of the window.
    by_45 = all_ids(api, 45, q="machine learning")
    assert by_45 == all_ids(api, 100, q="machine learning")


def test_a_term_within_the_window_is_ranked_as_a_whole(api: httpx.Client) -> None:
    body = search(api, q="figma")  # a skill of product designers only
    assert 0 < body["total"] < RANK_WINDOW and body["total_capped"] is False
    ids = all_ids(api, 100, q="figma")
    assert len(ids) == len(set(ids)) == body["total"]
    assert ids != sorted(ids, reverse=True)  # ranked, not in id order


def test_other_orders_of_a_broad_term_are_unchanged(api: httpx.Client) -> None:
    items = search(api, q="machine learning", sort="salary", per_page=100)["items"]
    tops = [job["salary_max"] for job in items]
    assert tops == sorted(tops, reverse=True)
    times = [job["posted_at"] for job in search(api, q="python", sort="newest",
                                                 per_page=100)["items"]]
    assert times == sorted(times, reverse=True)


# --- the web app -------------------------------------------------------------------------


def test_the_web_app_shows_a_capped_total_as_a_lower_bound(
        large_backend: Service, tmp_path: Path) -> None:
    with run_frontend(large_backend.url, tmp_path) as frontend, \
            httpx.Client(base_url=frontend.url, timeout=60) as visitor:
        everything = visitor.get("/jobs")
        assert everything.status_code == 200
        assert f"{TOTAL_CAP:,}+ jobs found · page 1 of {TOTAL_CAP // 20}+" in everything.text
        last_counted = visitor.get(f"/jobs?page={TOTAL_CAP // 20}")
        assert f"page {TOTAL_CAP // 20} of {TOTAL_CAP // 20}+" in last_counted.text
        assert f'page={TOTAL_CAP // 20 + 1}" rel="next"' in last_counted.text  # more follow
        exact = visitor.get("/jobs?q=figma")
        assert re.search(r"\b\d{3} jobs found", exact.text), exact.text
        assert "+ jobs found" not in exact.text
