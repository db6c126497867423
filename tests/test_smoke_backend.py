import httpx

from tests.support.processes import Service


def test_backend_is_ready_and_reports_its_schema(backend: Service) -> None:
    ready = httpx.get(f"{backend.url}/health/ready")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {"database", "schema", "configuration"}
    version = httpx.get(f"{backend.url}/version").json()
    assert version["schema_revision"] == version["schema_expected"]
