"""Job search over the demo set (3000 generated jobs), on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from tests.support.databases import jobs_tables_analysed

Params = dict[str, Any]


def search(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get("/api/jobs", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def total(api: httpx.Client, **params: Any) -> int:
    count: int = search(api, per_page=1, **params)["total"]
    return count


def posted(job: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(job["posted_at"])


def test_listing_without_filters_covers_the_whole_demo_set(api: httpx.Client) -> None:
    body = search(api)
    assert body["total"] == 3000
    assert body["page"] == 1 and body["per_page"] == 20
    assert len(body["items"]) == 20
    job = body["items"][0]
    assert set(job) >= {"id", "title", "company", "location", "remote", "salary_min",
                        "salary_max", "currency", "experience_level", "skills", "posted_at"}
    assert posted(job).tzinfo is not None


def test_the_demo_load_leaves_the_planner_statistics_fresh(api: httpx.Client,
                                                           module_database_url: str) -> None:
    # The backend loaded the demo jobs at start (--demo-data); the load ends with ANALYZE
    # (PostgreSQL: VACUUM ANALYZE), so the planner knows the jobs are there.
    assert jobs_tables_analysed(module_database_url)
    assert search(api)["total_capped"] is False


# --- full text ---------------------------------------------------------------------------


def test_full_text_finds_exactly_the_jobs_that_mention_the_word(api: httpx.Client) -> None:
    body = search(api, q="python", per_page=100)
    assert 0 < body["total"] < 3000
    for job in body["items"]:
        assert "python" in job["skills"], job
    # In the demo set a job's description names its skills and nothing else says "python",
    # so the text search and the skill filter must agree on the count.
    assert body["total"] == total(api, skills="python")


def test_full_text_is_case_insensitive(api: httpx.Client) -> None:
    assert total(api, q="PYTHON") == total(api, q="python")


def test_full_text_matches_titles_and_companies(api: httpx.Client) -> None:
    designers = search(api, q="designer", per_page=100)
    assert designers["total"] > 0
    assert all("Designer" in job["title"] for job in designers["items"])
    bluefin = search(api, q="bluefin", per_page=100)
    assert bluefin["total"] > 0
    assert all(job["company"] == "Bluefin Labs" for job in bluefin["items"])


def test_full_text_with_several_words_requires_all_of_them(api: httpx.Client) -> None:
    both = search(api, q="kubernetes terraform", per_page=100)
    assert 0 < both["total"] < total(api, q="kubernetes")
    for job in both["items"]:
        assert {"kubernetes", "terraform"} <= set(job["skills"])


def test_relevance_puts_title_matches_before_description_matches(api: httpx.Client) -> None:
    # "machine learning" is the title of one role and only a listed skill of others.
    hits = search(api, q="machine learning", per_page=100)
    assert hits["total"] > 100
    top = hits["items"][:20]
    assert all("Machine Learning Engineer" in job["title"] for job in top), top
    last_page = -(-hits["total"] // 100)
    tail = search(api, q="machine learning", per_page=100, page=last_page)["items"]
    assert tail, "the last page has results"
    assert all("Machine Learning Engineer" not in job["title"] for job in tail[-5:]), tail[-5:]
    assert all("machine learning" in job["skills"] for job in tail)


@pytest.mark.parametrize("q", [
    "!!!", "...", "'", '"', '""', '"python', "c++", "C#", "python AND OR", "AND", "OR NOT",
    "NEAR(", "title:python", "*", "-", "python -java", "(", "a)b(c", "%_\\", "ü ß ñ", "😀",
])
def test_odd_queries_never_fail(api: httpx.Client, q: str) -> None:
    body = search(api, q=q)
    assert body["total"] >= 0
    assert len(body["items"]) <= 20


def test_query_of_only_punctuation_matches_nothing(api: httpx.Client) -> None:
    assert search(api, q="?!.,;")["total"] == 0


def test_query_with_quotes_still_searches_the_words(api: httpx.Client) -> None:
    assert total(api, q='"python"') == total(api, q="python")


def test_query_too_long_is_422(api: httpx.Client) -> None:
    response = api.get("/api/jobs", params={"q": "x" * 201})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


# --- filters -----------------------------------------------------------------------------


def test_location_filter_is_a_case_insensitive_substring(api: httpx.Client) -> None:
    body = search(api, location="berlin", per_page=100)
    assert 0 < body["total"] < 3000
    assert all(job["location"] == "Berlin, Germany" for job in body["items"])


def test_location_filter_treats_like_wildcards_literally(api: httpx.Client) -> None:
    assert total(api, location="%") == 0
    assert total(api, location="_") == 0


@pytest.mark.parametrize("remote", [True, False])
def test_remote_filter(api: httpx.Client, remote: bool) -> None:
    body = search(api, remote=str(remote).lower(), per_page=100)
    assert 0 < body["total"] < 3000
    assert all(job["remote"] is remote for job in body["items"])


def test_remote_true_and_false_partition_the_jobs(api: httpx.Client) -> None:
    assert total(api, remote="true") + total(api, remote="false") == 3000


def test_salary_min_keeps_jobs_that_can_pay_at_least_that(api: httpx.Client) -> None:
    body = search(api, salary_min=150_000, per_page=100)
    assert 0 < body["total"] < 3000
    assert all(job["salary_max"] >= 150_000 for job in body["items"])


def test_salary_max_keeps_jobs_that_start_at_or_below_it(api: httpx.Client) -> None:
    body = search(api, salary_max=60_000, per_page=100)
    assert 0 < body["total"] < 3000
    assert all(job["salary_min"] <= 60_000 for job in body["items"])


def test_salary_range_combines_both_bounds(api: httpx.Client) -> None:
    body = search(api, salary_min=100_000, salary_max=110_000, per_page=100)
    assert body["total"] > 0
    for job in body["items"]:
        assert job["salary_max"] >= 100_000 and job["salary_min"] <= 110_000
    assert body["total"] < min(total(api, salary_min=100_000), total(api, salary_max=110_000))


def test_salary_min_above_salary_max_is_422(api: httpx.Client) -> None:
    response = api.get("/api/jobs", params={"salary_min": 90_000, "salary_max": 50_000})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "salary_min" in error["message"]


def test_negative_salary_is_422(api: httpx.Client) -> None:
    assert api.get("/api/jobs", params={"salary_min": -1}).status_code == 422


@pytest.mark.parametrize("level", ["entry", "mid", "senior", "lead"])
def test_experience_level_filter(api: httpx.Client, level: str) -> None:
    body = search(api, experience_level=level, per_page=100)
    assert 0 < body["total"] < 3000
    assert all(job["experience_level"] == level for job in body["items"])


def test_unknown_experience_level_is_422(api: httpx.Client) -> None:
    response = api.get("/api/jobs", params={"experience_level": "wizard"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_skills_filter_requires_every_skill(api: httpx.Client) -> None:
    one = total(api, skills="python")
    body = search(api, skills="Python, SQL", per_page=100)
    assert 0 < body["total"] < one
    for job in body["items"]:
        assert {"python", "sql"} <= set(job["skills"])
    assert total(api, skills="python,figma") == 0  # no role asks for both


def test_skills_filter_with_a_space_in_the_skill(api: httpx.Client) -> None:
    body = search(api, skills="machine learning", per_page=100)
    assert body["total"] > 0
    assert all("machine learning" in job["skills"] for job in body["items"])


def test_posted_since_keeps_only_recent_jobs(api: httpx.Client) -> None:
    since = date(2026, 11, 1)
    body = search(api, posted_since=since.isoformat(), per_page=100)
    assert 0 < body["total"] < 3000
    cutoff = datetime(2026, 11, 1, tzinfo=UTC)
    assert all(posted(job) >= cutoff for job in body["items"])
    # The oldest matching job is still on or after the day given.
    oldest = search(api, posted_since=since.isoformat(), sort="newest", per_page=1,
                    page=body["total"])["items"][0]
    assert posted(oldest) >= cutoff


def test_posted_since_in_the_future_finds_nothing(api: httpx.Client) -> None:
    assert total(api, posted_since="2030-01-01") == 0


def test_invalid_posted_since_is_422(api: httpx.Client) -> None:
    assert api.get("/api/jobs", params={"posted_since": "yesterday"}).status_code == 422


def test_filters_combine(api: httpx.Client) -> None:
    params: Params = {"q": "engineer", "location": "london", "remote": "true",
                      "experience_level": "senior", "skills": "aws", "per_page": 100}
    body = search(api, **params)
    assert body["total"] > 0
    for job in body["items"]:
        assert "London" in job["location"] and job["remote"] is True
        assert job["experience_level"] == "senior" and "aws" in job["skills"]
        assert "Engineer" in job["title"]


# --- ordering and pages ------------------------------------------------------------------


def test_sort_newest_orders_by_posting_time(api: httpx.Client) -> None:
    items = search(api, sort="newest", per_page=100)["items"]
    times = [posted(job) for job in items]
    assert times == sorted(times, reverse=True)
    assert len(set(times)) > 1


def test_sort_salary_orders_by_top_of_range(api: httpx.Client) -> None:
    items = search(api, sort="salary", per_page=100)["items"]
    tops = [job["salary_max"] for job in items]
    assert tops == sorted(tops, reverse=True)
    bottom = search(api, sort="salary", per_page=100, page=30)["items"]
    assert max(job["salary_max"] for job in bottom) <= min(tops)


def test_sort_applies_to_a_text_search(api: httpx.Client) -> None:
    items = search(api, q="python", sort="salary", per_page=50)["items"]
    tops = [job["salary_max"] for job in items]
    assert tops == sorted(tops, reverse=True)


def test_unknown_sort_is_422(api: httpx.Client) -> None:
    assert api.get("/api/jobs", params={"sort": "random"}).status_code == 422


def test_page_two_follows_page_one(api: httpx.Client) -> None:
    first = search(api, q="engineer", per_page=10, page=1)
    second = search(api, q="engineer", per_page=10, page=2)
    assert first["total"] == second["total"]
    assert second["page"] == 2 and len(second["items"]) == 10
    first_ids = {job["id"] for job in first["items"]}
    second_ids = {job["id"] for job in second["items"]}
    assert first_ids.isdisjoint(second_ids)
    both = search(api, q="engineer", per_page=20, page=1)
    assert [job["id"] for job in both["items"]] == (
        [job["id"] for job in first["items"]] + [job["id"] for job in second["items"]]
    )


def test_page_beyond_the_end_is_empty_with_the_same_total(api: httpx.Client) -> None:
    body = search(api, per_page=100, page=31)
    assert body["total"] == 3000
    assert body["items"] == []
    assert len(search(api, per_page=100, page=30)["items"]) == 100


@pytest.mark.parametrize("params", [
    {"per_page": 101}, {"per_page": 0}, {"page": 0}, {"page": -1}, {"page": "two"},
])
def test_bad_pagination_is_422(api: httpx.Client, params: Params) -> None:
    response = api.get("/api/jobs", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_per_page_100_is_allowed(api: httpx.Client) -> None:
    assert len(search(api, per_page=100)["items"]) == 100


# --- detail ------------------------------------------------------------------------------


def test_job_detail_has_the_description_and_matches_the_summary(api: httpx.Client) -> None:
    summary = search(api, q="python", per_page=1)["items"][0]
    response = api.get(f"/api/jobs/{summary['id']}")
    assert response.status_code == 200, response.text
    detail = response.json()
    assert {k: detail[k] for k in summary} == summary
    assert "python" in detail["description"].lower()
    assert detail["url"].startswith("https://")


def test_missing_job_is_404(api: httpx.Client) -> None:
    response = api.get("/api/jobs/999999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("job_id", ["0", "-5"])
def test_a_job_id_below_1_is_422(api: httpx.Client, job_id: str) -> None:
    # Ids are positive 32-bit integers, as the OpenAPI document says (issue 12).
    response = api.get(f"/api/jobs/{job_id}")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_a_job_id_beyond_the_id_columns_is_422_and_the_largest_is_404(
        api: httpx.Client) -> None:
    # PostgreSQL's INTEGER ids are 32-bit: a larger one was a 500 ("integer out of range").
    assert api.get(f"/api/jobs/{2**31}").status_code == 422
    assert api.get(f"/api/jobs/{2**63 - 2}").status_code == 422
    assert api.get(f"/api/jobs/{2**31 - 1}").status_code == 404


def test_non_numeric_job_id_is_422(api: httpx.Client) -> None:
    assert api.get("/api/jobs/abc").status_code == 422


def test_currency_keeps_salaries_in_one_currency(api: httpx.Client) -> None:
    everything = total(api)
    euros = search(api, currency="eur", sort="salary", salary_min=100_000, per_page=100)
    assert 0 < euros["total"] < everything
    assert {job["currency"] for job in euros["items"]} == {"EUR"}
    tops = [job["salary_max"] for job in euros["items"]]
    assert tops == sorted(tops, reverse=True) and min(tops) >= 100_000
    assert total(api, currency="EUR") + total(api, currency="USD") == everything
    assert api.get("/api/jobs", params={"currency": "euro"}).status_code == 422
