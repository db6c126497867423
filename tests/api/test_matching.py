"""Skill match for one job and recommendations ranked by it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest

from jobnaut.app.matching.service import (
    RECENCY_POINTS,
    MatchProfile,
    fit,
    freshness,
    level_fit,
    location_fit,
)
from tests.api.conftest import ApiUser


def set_skills(api: httpx.Client, user: ApiUser, skills: list[str], **profile: str) -> None:
    response = api.put("/api/profile", headers=user.headers,
                       json={"skills": skills, **profile})
    assert response.status_code == 200, response.text


def a_job(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get("/api/jobs", params={"per_page": 1, **params})
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    assert items, params
    return items[0]


def match(api: httpx.Client, user: ApiUser, job_id: int) -> dict[str, Any]:
    response = api.get(f"/api/jobs/{job_id}/match", headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_match_splits_the_jobs_skills_into_matched_and_missing(
    api: httpx.Client, user: ApiUser
) -> None:
    job = a_job(api, skills="python,sql", q="backend")
    job_skills = set(job["skills"])
    assert len(job_skills) >= 3
    set_skills(api, user, ["Python", "SQL", "cobol"])

    result = match(api, user, job["id"])
    assert result["job_id"] == job["id"]
    assert result["matched"] == ["python", "sql"]
    assert result["missing"] == sorted(job_skills - {"python", "sql"})
    assert set(result["matched"]) | set(result["missing"]) == job_skills
    assert "cobol" not in result["matched"] + result["missing"]
    assert result["score"] == round(100 * 2 / len(job_skills))


def test_match_with_every_skill_is_100(api: httpx.Client, user: ApiUser) -> None:
    job = a_job(api)
    set_skills(api, user, [*job["skills"], "extra"])
    result = match(api, user, job["id"])
    assert result == {"job_id": job["id"], "score": 100, "matched": sorted(job["skills"]),
                      "missing": [], "level_fit": None, "location_fit": None}


def test_match_with_no_profile_is_0_and_everything_missing(
    api: httpx.Client, user: ApiUser
) -> None:
    job = a_job(api)
    result = match(api, user, job["id"])
    assert result["score"] == 0
    assert result["matched"] == []
    assert result["missing"] == sorted(job["skills"])


def test_match_follows_profile_changes(api: httpx.Client, user: ApiUser) -> None:
    job = a_job(api, skills="python")
    set_skills(api, user, ["python"])
    before = match(api, user, job["id"])
    assert before["matched"] == ["python"]
    set_skills(api, user, [])
    assert match(api, user, job["id"])["score"] == 0


def test_match_for_a_missing_job_is_404(api: httpx.Client, user: ApiUser) -> None:
    response = api.get("/api/jobs/9999999/match", headers=user.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_match_requires_authentication(api: httpx.Client) -> None:
    job = a_job(api)
    response = api.get(f"/api/jobs/{job['id']}/match")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_recommendations_require_authentication(api: httpx.Client) -> None:
    response = api.get("/api/recommendations")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_recommendations_are_ranked_by_score_then_freshness(
    api: httpx.Client, user: ApiUser
) -> None:
    set_skills(api, user, ["python", "sql", "aws", "docker"])
    response = api.get("/api/recommendations", headers=user.headers, params={"limit": 50})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 50
    scores = [item["score"] for item in items]
    # A fresher posting may pass an older one, by at most the recency bonus.
    assert all(later <= earlier + RECENCY_POINTS for earlier, later in pairwise(scores))
    assert scores[0] == 100  # some demo jobs ask only for skills among these four
    assert len({item["job"]["id"] for item in items}) == 50


def test_recommendation_scores_agree_with_the_match_endpoint(
    api: httpx.Client, user: ApiUser
) -> None:
    set_skills(api, user, ["kubernetes", "linux", "go"])
    items = api.get("/api/recommendations", headers=user.headers,
                    params={"limit": 10}).json()["items"]
    assert items
    for item in items:
        result = match(api, user, item["job"]["id"])
        assert item["score"] == result["score"]
        assert item["missing"] == result["missing"]
        assert set(result["matched"]) <= {"kubernetes", "linux", "go"}
        assert result["matched"], "a recommended job shares at least one skill"


def test_recommendations_rank_better_matches_above_weaker_ones(
    api: httpx.Client, user: ApiUser
) -> None:
    # Designers' skills: a designer profile must be recommended design jobs first.
    set_skills(api, user, ["figma", "user research", "prototyping", "accessibility"])
    items = api.get("/api/recommendations", headers=user.headers,
                    params={"limit": 20}).json()["items"]
    assert items[0]["score"] == 100
    assert all("Product Designer" in item["job"]["title"] for item in items[:10])


def test_recommendations_are_empty_without_skills(api: httpx.Client, user: ApiUser) -> None:
    response = api.get("/api/recommendations", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == {"items": []}


def test_recommendations_default_to_ten(api: httpx.Client, user: ApiUser) -> None:
    set_skills(api, user, ["python"])
    assert len(api.get("/api/recommendations", headers=user.headers).json()["items"]) == 10


@pytest.mark.parametrize("limit", [0, 51, "many"])
def test_recommendations_limit_out_of_range_is_422(
    api: httpx.Client, user: ApiUser, limit: int | str
) -> None:
    response = api.get("/api/recommendations", headers=user.headers, params={"limit": limit})
    assert response.status_code == 422


# -- skills, level and location together (issue 15) -----------------------------------------

BACKEND = ["python", "postgresql", "docker", "sql"]


def test_a_senior_in_berlin_is_not_shown_junior_jobs_far_away_first(
    api: httpx.Client, user: ApiUser
) -> None:
    set_skills(api, user, BACKEND, experience_level="senior", location="Berlin")
    items = api.get("/api/recommendations", headers=user.headers,
                    params={"limit": 6}).json()["items"]
    assert len(items) == 6
    for item in items:
        job = item["job"]
        assert job["experience_level"] in ("senior", "lead"), job
        assert job["location"].startswith("Berlin") or job["remote"], job
        assert not job["title"].startswith("Junior")
    top = items[0]["job"]
    assert top["experience_level"] == "senior"
    scores = [item["score"] for item in items]
    assert len(set(scores)) > 1, "scores must tell the jobs apart, not all say the same"
    assert min(scores) < 100


def test_level_and_location_lower_the_score_of_a_job_that_fits_badly(
    api: httpx.Client, user: ApiUser
) -> None:
    near = a_job(api, skills="python", experience_level="senior", location="Berlin",
                 remote="false")
    far = a_job(api, skills="python", experience_level="entry", location="Chicago",
                remote="false")
    set_skills(api, user, ["python"], experience_level="senior", location="Berlin, Germany")
    good, bad = match(api, user, near["id"]), match(api, user, far["id"])
    assert (good["level_fit"], good["location_fit"]) == (1.0, 1.0)
    assert (bad["level_fit"], bad["location_fit"]) == (0.0, 0.0)
    assert bad["score"] < good["score"]
    assert bad["matched"] == good["matched"] == ["python"]


def test_matches_score_a_page_of_results_in_one_call(api: httpx.Client, user: ApiUser) -> None:
    page = api.get("/api/jobs", params={"q": "engineer", "per_page": 5}).json()["items"]
    ids = [job["id"] for job in page]
    empty = api.get("/api/matches", headers=user.headers,
                    params={"job_ids": ",".join(map(str, ids))}).json()
    assert empty["profile_empty"] is True
    assert all(item["score"] == 0 for item in empty["items"])

    set_skills(api, user, BACKEND, experience_level="mid")
    response = api.get("/api/matches", headers=user.headers,
                       params={"job_ids": ",".join(map(str, [*reversed(ids), 9999999]))})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["profile_empty"] is False
    assert [item["job_id"] for item in body["items"]] == list(reversed(ids))  # unknown: left out
    for item in body["items"]:
        assert item == match(api, user, item["job_id"])


@pytest.mark.parametrize("job_ids", ["1,two", ",".join(["1"] * 101)])
def test_matches_refuse_bad_or_too_many_ids(
    api: httpx.Client, user: ApiUser, job_ids: str
) -> None:
    response = api.get("/api/matches", headers=user.headers, params={"job_ids": job_ids})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_matches_require_authentication(api: httpx.Client) -> None:
    assert api.get("/api/matches", params={"job_ids": "1"}).status_code == 401


# -- the scoring itself (pure functions) ----------------------------------------------------


def test_level_fit_is_full_for_the_own_level_half_one_step_away() -> None:
    assert [level_fit("senior", lvl) for lvl in ("entry", "mid", "senior", "lead")] == [
        0.0, 0.5, 1.0, 0.5]
    assert level_fit("senior", "unknown") == 0.0


@pytest.mark.parametrize(("home", "job", "remote", "expected"), [
    ("Berlin", "Berlin, Germany", False, 1.0),
    ("berlin, germany", "Berlin, Germany", False, 1.0),
    ("Munich, Germany", "Berlin, Germany", False, 0.5),
    ("Germany", "Berlin, Germany", False, 0.5),
    ("Berlin", "Chicago, IL", True, 0.8),
    ("Berlin", "Chicago, IL", False, 0.0),
    (" , ", "Chicago, IL", False, 0.0),
])
def test_location_fit(home: str, job: str, remote: bool, expected: float) -> None:
    assert location_fit(home, job, remote) == expected


def test_the_score_weighs_only_the_parts_the_profile_fills_in() -> None:
    job = {"skills": ["python", "sql"], "level": "entry", "location": "Chicago, IL",
           "remote": False}
    assert fit(MatchProfile(skills=["Python", "SQL"]), **job).score == 100
    assert fit(MatchProfile(skills=["python", "sql"], level="senior"), **job).score == 71
    every = fit(MatchProfile(skills=["python"], level="entry", location="Berlin"), **job)
    assert every.score == 55  # (60 * 0.5 + 25 * 1 + 15 * 0) / 100
    assert fit(MatchProfile(skills=[]), **job).score == 0


def test_freshness_falls_from_one_to_zero_over_sixty_days() -> None:
    now = datetime(2026, 11, 29, tzinfo=UTC)
    assert freshness(now, now) == 1.0
    assert freshness(now - timedelta(days=30), now) == 0.5
    assert freshness(now - timedelta(days=90), now) == 0.0
    assert freshness(datetime(2026, 11, 29), now) == 1.0  # naive (SQLite) is UTC
