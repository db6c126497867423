"""Operations endpoints: liveness, readiness, version, metrics and the OpenAPI document."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from jobnaut import __version__
from jobnaut.app.schema import expected_revision
from jobnaut.app.system.metrics import SLOW_QUERY_SECONDS, Metrics


def test_health_is_ok(api: httpx.Client) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_every_check_ok(api: httpx.Client) -> None:
    response = api.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "schema", "configuration"}
    for name, check in body["checks"].items():
        assert check["ok"] is True, (name, check)
        assert isinstance(check["latency_ms"], float | int) and check["latency_ms"] >= 0
    assert expected_revision() in body["checks"]["schema"]["detail"]


def test_version_reports_release_and_schema(api: httpx.Client) -> None:
    body = api.get("/version").json()
    assert body["service"] == "backend"
    assert body["release"] == "dev" and body["commit"] == "unknown"
    assert body["schema_expected"] == expected_revision()
    assert body["schema_revision"] == expected_revision()


def test_meta_lists_levels_and_statuses(api: httpx.Client) -> None:
    body = api.get("/api/meta").json()
    assert body["experience_levels"] == ["entry", "mid", "senior", "lead"]
    assert body["statuses"] == ["saved", "applied", "interviewing", "offer", "rejected",
                                "withdrawn"]


def _counter(metrics: str, route: str, status: str, method: str = "GET") -> float:
    pattern = re.compile(
        r"^jobnaut_http_requests_total\{(?P<labels>.*)\} (?P<value>\S+)$", re.MULTILINE
    )
    for m in pattern.finditer(metrics):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m["labels"]))
        if labels == {"method": method, "route": route, "status": status}:
            return float(m["value"])
    return 0.0


def test_metrics_count_requests_by_route_template(api: httpx.Client) -> None:
    job_id = api.get("/api/jobs", params={"per_page": 1}).json()["items"][0]["id"]
    before = _counter(api.get("/metrics").text, "/api/jobs/{job_id}", "200")
    for _ in range(3):
        assert api.get(f"/api/jobs/{job_id}").status_code == 200
    assert api.get("/api/jobs/99999999").status_code == 404

    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _counter(text, "/api/jobs/{job_id}", "200") == before + 3
    assert _counter(text, "/api/jobs/{job_id}", "404") >= 1
    # Raw paths never become label values: the number of series stays bounded.
    assert f'route="/api/jobs/{job_id}"' not in text
    assert "99999999" not in text


def test_metrics_label_unknown_paths_as_unmatched(api: httpx.Client) -> None:
    assert api.get("/no/such/page-4711").status_code == 404
    text = api.get("/metrics").text
    assert _counter(text, "unmatched", "404") >= 1
    assert "page-4711" not in text


def test_metrics_have_a_latency_histogram(api: httpx.Client) -> None:
    api.get("/api/jobs", params={"q": "python"})
    text = api.get("/metrics").text
    assert "# TYPE jobnaut_http_request_duration_seconds histogram" in text
    buckets = re.findall(
        r'^jobnaut_http_request_duration_seconds_bucket\{le="([^"]+)",method="GET",'
        r'route="/api/jobs"\} (\S+)$', text, re.MULTILINE)
    assert buckets, text
    assert buckets[-1][0] == "+Inf"
    counts = [float(value) for _, value in buckets]
    assert counts == sorted(counts) and counts[-1] >= 1
    assert re.search(r'^jobnaut_http_request_duration_seconds_count\{method="GET",'
                     r'route="/api/jobs"\} [1-9]', text, re.MULTILINE)


def test_openapi_lists_the_api(api: httpx.Client) -> None:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "JobNaut API"
    assert document["info"]["version"] == __version__
    paths = document["paths"]
    expected = {
        "/health": {"get"}, "/health/ready": {"get"}, "/version": {"get"}, "/metrics": {"get"},
        "/api/auth/signup": {"post"}, "/api/auth/signin": {"post"},
        "/api/auth/signout": {"post"}, "/api/me": {"get"}, "/api/profile": {"get", "put"},
        "/api/jobs": {"get"}, "/api/jobs/{job_id}": {"get"},
        "/api/jobs/{job_id}/match": {"get"}, "/api/recommendations": {"get"},
        "/api/saved": {"get", "post"}, "/api/saved/{saved_id}": {"get", "patch", "delete"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))


def test_metrics_show_the_database_pool_and_query_times(api: httpx.Client) -> None:
    def count(text: str) -> float:
        found = re.search(r"^jobnaut_db_query_duration_seconds_count (\S+)$", text, re.M)
        assert found, text
        return float(found[1])

    before = count(api.get("/metrics").text)
    api.get("/api/jobs", params={"q": "python"})
    text = api.get("/metrics").text
    assert count(text) >= before + 2  # the count and the page, at least
    assert re.search(r"^jobnaut_db_pool_size \d", text, re.M)
    assert re.search(r"^jobnaut_db_pool_checked_out \d", text, re.M)
    assert re.search(r"^jobnaut_db_slow_queries_total \d", text, re.M)


def test_a_slow_statement_is_counted_as_slow(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'slow.db'}")
    metrics = Metrics()
    metrics.watch_database(engine)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        started = time.perf_counter()
        conn.execute(text("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                          "WHERE x < 3000000) SELECT count(*) FROM c"))
        took = time.perf_counter() - started
        with pytest.raises(OperationalError):
            conn.execute(text("SELECT * FROM no_such_table"))
    rendered = metrics.render().decode()
    found = re.search(r"^jobnaut_db_slow_queries_total (\S+)$", rendered, re.M)
    assert found, rendered
    slow = float(found[1])
    assert slow == (1.0 if took >= SLOW_QUERY_SECONDS else 0.0)
    assert re.search(r"^jobnaut_db_query_duration_seconds_count 3\.0$", rendered, re.M)
    engine.dispose()


def test_readiness_compares_with_the_schema_the_control_plane_names(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jobnaut.config import EXPECTED_SCHEMA_VARIABLE
    from tests.api.app_client import app_client

    with app_client(tmp_path, jobs=0) as client:
        monkeypatch.setenv(EXPECTED_SCHEMA_VARIABLE, "0999")
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert "code expects 0999" in ready.json()["checks"]["schema"]["detail"]
        assert client.get("/version").json()["schema_expected"] == "0999"
        monkeypatch.setenv(EXPECTED_SCHEMA_VARIABLE, expected_revision())
        assert client.get("/health/ready").status_code == 200
        monkeypatch.delenv(EXPECTED_SCHEMA_VARIABLE)  # unset: the migrations' head
        assert client.get("/version").json()["schema_expected"] == expected_revision()
