"""Deploys and code rollbacks (plan scenario 1) on real processes, real git, both databases."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from tests.ops.conftest import Environment, SourceRepo, sqlite_only
from tests.ops.helpers import TrafficLoop, UserData
from tests.support.web_client import WebClient


@pytest.fixture(scope="module")
def user(deployed: Environment) -> UserData:
    return UserData(deployed.api).create()


def active(env: Environment) -> str:
    return str(env.json("status")["active_release"])


def test_deploy_and_code_rollback_drop_no_request(deployed: Environment, user: UserData) -> None:
    first = active(deployed)
    urls = [f"{deployed.api}/api/jobs?per_page=1", f"{deployed.api}/health",
            f"{deployed.web}/jobs?q=python"]
    with TrafficLoop(urls) as during_deploy:
        deployed.jobnaut("deploy", "main", "--reason", "second release")
    second = active(deployed)
    assert second != first
    assert deployed.serving_release() == second

    with TrafficLoop(urls) as during_rollback:
        result = deployed.jobnaut("rollback", "code", "--yes")
    assert "succeeded" in result.stdout
    # back to the warm release: live and ready before the switch, every check after it
    assert "(warm: live and ready;" in result.stderr
    steps = result.stderr.index
    assert steps(" switch … ") < steps(" verify … ") < steps(" retire … ")
    moments = re.search(r"serving v\d+ after ([\d.]+) s; verified after ([\d.]+) s",
                        result.stdout)
    assert moments, result.stdout
    assert 0 < float(moments[1]) < float(moments[2])

    assert during_deploy.failures == [] and during_deploy.ok > 10
    assert during_rollback.failures == [] and during_rollback.ok > 10
    assert active(deployed) == first
    assert deployed.serving_release() == first
    by_id = {r["id"]: r for r in deployed.releases()}
    assert by_id[second]["status"] == "rolled_back"
    assert by_id[first]["status"] == "active"
    user.assert_intact(deployed.api)


@sqlite_only
def test_dry_run_prints_the_plan_and_changes_nothing(deployed: Environment) -> None:
    releases = deployed.releases()
    ops_before = _operation_count(deployed)

    deploy_plan = deployed.jobnaut("deploy", "main", "--dry-run")
    assert "1. preflight" in deploy_plan.stdout and "switch" in deploy_plan.stdout

    deployed.jobnaut("deploy", "main", "--reason", "third")
    rollback_plan = deployed.jobnaut("rollback", "code", "--dry-run")
    assert "identify" in rollback_plan.stdout and "verify" in rollback_plan.stdout

    after = deployed.releases()
    assert len(after) == len(releases) + 1  # only the real deploy added one
    assert _operation_count(deployed) == ops_before + 1


def _operation_count(env: Environment) -> int:
    with sqlite3.connect(env.home / "ledger.db") as db:
        return int(db.execute("SELECT count(*) FROM operations").fetchone()[0])


@sqlite_only
def test_rollback_refuses_unknown_release_and_changes_nothing(deployed: Environment) -> None:
    before = active(deployed)
    result = deployed.jobnaut("rollback", "code", "--to", "v999", "--yes", check=False)
    assert result.returncode != 0
    assert "v999 does not exist" in result.stderr
    assert active(deployed) == before


@sqlite_only
def test_second_operation_is_refused_while_one_runs(deployed: Environment) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobnaut", "--home", str(deployed.home), "deploy", "main"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_step(deployed, proc, {"build", "record", "migrate", "start"})
        second = deployed.jobnaut("rollback", "code", "--yes", check=False)
        assert second.returncode == 1
        assert "another operation is running: deploy" in second.stderr
    finally:
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err


def test_killed_deploy_is_explained_and_resumed(deployed: Environment, user: UserData) -> None:
    before = active(deployed)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobnaut", "--home", str(deployed.home), "deploy", "main",
         "--reason", "will be killed"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_step(deployed, proc, {"check"})
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    status = deployed.jobnaut("status")
    assert "interrupted" in status.stdout and "jobnaut resume" in status.stdout
    state = deployed.json("status")
    assert state["interrupted"]["kind"] == "deploy"
    assert state["active_release"] == before  # the killed deploy never switched
    assert deployed.serving_release() == before

    resumed = deployed.jobnaut("deploy", "--resume")
    assert "skipped" in resumed.stderr  # steps done before the kill are not redone
    after = deployed.json("status")
    assert after["interrupted"] is None
    assert after["active_release"] != before
    assert deployed.serving_release() == after["active_release"]
    user.assert_intact(deployed.api)


def _wait_for_step(env: Environment, proc: subprocess.Popen[str] | subprocess.Popen[bytes],
                   names: set[str], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the operation ended before reaching the step"
        try:
            with sqlite3.connect(env.home / "ledger.db", timeout=5) as db:
                row = db.execute(
                    "SELECT s.name FROM steps s JOIN operations o ON o.id = s.operation_id "
                    "WHERE o.status = 'running' AND s.status = 'running' "
                    "ORDER BY o.id DESC LIMIT 1").fetchone()
        except sqlite3.OperationalError:
            row = None
        if row and row[0] in names:
            return
        time.sleep(0.05)
    raise AssertionError(f"no step in {names} within {timeout}s")


@sqlite_only
def test_status_and_releases_json_tell_the_truth(deployed: Environment) -> None:
    state = deployed.json("status")
    assert state["active_release"]
    for service in ("backend", "frontend"):
        entry = state["services"][service]
        assert entry["release"] == state["active_release"]
        assert entry["healthy"] is True and entry["pid"] > 0
    version = httpx.get(f"{deployed.api}/version").json()
    assert version["release"] == state["active_release"]
    releases = deployed.json("releases")  # the command itself, not the in-process reading
    assert [(r["id"], r["status"]) for r in releases] == [
        (r["id"], r["status"]) for r in deployed.releases()]
    assert {"id", "ref", "status", "schema_revision", "backup_id", "created_at"} <= set(
        releases[0])
    assert sum(1 for r in releases if r["status"] == "active") == 1
    assert json.loads(json.dumps(releases))  # plain JSON


@sqlite_only
def test_traffic_switch_never_hands_a_session_to_someone_else(
        deployed: Environment, user: UserData) -> None:
    with WebClient(base_url=deployed.web) as browser:  # posts with the form's CSRF token
        signed_in = browser.post("/signin", data={"email": user.email,
                                                  "password": "correct horse battery"})
        assert signed_in.status_code in (200, 303), signed_in.text
        assert browser.cookies.get("jobnaut_token")
        assert user.email in browser.get("/profile", follow_redirects=True).text
    stranger = httpx.get(f"{deployed.web}/profile", follow_redirects=False)
    assert stranger.status_code in (302, 303)
    assert "/signin" in stranger.headers["location"]


@sqlite_only
def test_rollback_of_one_service_leaves_the_other_serving(deployed: Environment) -> None:
    deployed.jobnaut("deploy", "main", "--reason", "for a backend-only rollback")
    current = active(deployed)
    result = deployed.jobnaut("rollback", "code", "--service", "backend", "--yes")
    assert "succeeded" in result.stdout
    state = deployed.json("status")
    assert state["active_release"] == current
    assert state["services"]["frontend"]["release"] == current
    assert state["services"]["backend"]["release"] != current
    assert deployed.serving_release() == state["services"]["backend"]["release"]
    assert httpx.get(f"{deployed.web}/jobs?q=python").status_code == 200
    deployed.jobnaut("deploy", "main", "--reason", "both services on one release again")


@sqlite_only
def test_rollback_to_a_pruned_release_rebuilds_it(deployed: Environment,
                                                   source_repo: SourceRepo) -> None:
    toml = deployed.home / "jobnaut.toml"
    toml.write_text(toml.read_text().replace("keep_releases = 5", "keep_releases = 2"))
    shas = [source_repo.commit_variant(f"docs-{n}", {"README.md": ("# JobNaut", f"# JobNaut {n}")})
            for n in range(3)]
    for sha in shas:
        deployed.jobnaut("deploy", sha)
    oldest = next(r for r in deployed.releases() if r["ref"] == shas[0])
    assert not (deployed.home / "builds" / shas[0]).exists()  # pruned

    result = deployed.jobnaut("rollback", "code", "--to", oldest["id"], "--yes")
    assert f"built {shas[0][:12]}" in result.stderr
    assert deployed.serving_release() == oldest["id"]
    toml.write_text(toml.read_text().replace("keep_releases = 2", "keep_releases = 5"))
