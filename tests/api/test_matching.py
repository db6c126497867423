"""Skill match for one job and recommendations ranked by it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import ApiUser


def set_skills(api: httpx.Client, user: ApiUser, skills: list[str]) -> None:
    response = api.put("/api/profile", headers=user.headers, json={"skills": skills})
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
                      "missing": []}


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


def test_recommendations_are_ranked_by_score(api: httpx.Client, user: ApiUser) -> None:
    set_skills(api, user, ["python", "sql", "aws", "docker"])
    response = api.get("/api/recommendations", headers=user.headers, params={"limit": 50})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 50
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
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
