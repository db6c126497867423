"""Rollback drills, measured: time to detect, MTTR, failed requests and RPO per scenario.

Not a test: it prints figures. It makes a git repository of this checkout, a production
environment from it (demo jobs, a user with a profile and a saved job, a verified backup),
a staging copy of that (`jobnaut staging create`), and runs each scenario there with
`jobnaut drill run`, as an operator would. Production is checked to be untouched at the end.

    .venv/bin/python bench/drill_bench.py [--database-url postgresql://…/db] [--scenario crash …]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchkit import free_port, source_copy
from jobnaut.ops.drills.catalogue import SCENARIOS


def jobnaut(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "jobnaut", "--home", str(home), *args],
                            capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise SystemExit(f"jobnaut {' '.join(args)} failed:\n{result.stderr}")
    return result


def production(root: Path, repo: Path, database_url: str | None) -> tuple[Path, int]:
    home, api_port = root / "production", free_port()
    args = ["init", "--source", str(repo), "--name", "production", "--no-guard",
            "--backend-port", str(api_port), "--frontend-port", str(free_port())]
    jobnaut(home, *args, *(["--database-url", database_url] if database_url else []))
    jobnaut(home, "up")
    with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=10) as client:
        token = client.post("/api/auth/signup", json={
            "email": "ada@example.com", "password": "correct horse battery"}).json()["token"]
        auth = {"authorization": f"Bearer {token}"}
        client.put("/api/profile", headers=auth, json={"full_name": "Ada Lovelace"})
        job = client.get("/api/jobs", params={"per_page": 1}).json()["items"][0]["id"]
        client.post("/api/saved", headers=auth, json={"job_id": job, "notes": "call Tuesday"})
    backup = json.loads(jobnaut(home, "backup", "create", "--json").stdout)["id"]
    jobnaut(home, "backup", "verify", backup)
    return home, api_port


def processes(home: Path) -> list[Any]:
    state = json.loads(jobnaut(home, "status", "--json", check=False).stdout)
    return sorted((name, s.get("pid"), s.get("port")) for name, s in state["services"].items()
                  if isinstance(s, dict))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="production's database (default: SQLite)")
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    parser.add_argument("--keep", action="store_true", help="leave the environments up")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="jobnaut-drill-bench-"))
    prod, staging = root / "production", root / "staging"
    try:
        repo = source_copy(root)
        started = time.monotonic()
        prod, _ = production(root, repo, options.database_url)
        before = processes(prod)
        jobnaut(staging, "staging", "create", "--from", str(prod))
        print(f"production and its staging copy ready in {time.monotonic() - started:.0f} s "
              f"({'PostgreSQL' if options.database_url else 'SQLite'})\n")
        print(f"{'scenario':<10} {'status':<7} {'detect s':>8} {'MTTR s':>7} "
              f"{'failed/requests':>16} {'RPO rows':>8} {'announced':>9} {'RTO s':>6} "
              f"{'drill s':>7}")
        for name in options.scenario or SCENARIOS:
            took = time.monotonic()
            result = jobnaut(staging, "drill", "run", name, "--json", check=False)
            took = time.monotonic() - took
            try:
                record = json.loads(result.stdout)
            except json.JSONDecodeError:
                print(f"{name:<10} error   {result.stderr.strip()[-200:]}")
                continue
            m = record["metrics"]
            print(f"{name:<10} {record['status']:<7} {_f(m['detect_seconds']):>8} "
                  f"{_f(m['mttr_seconds']):>7} "
                  f"{str(m['failed_requests']) + '/' + str(m['requests']):>16} "
                  f"{m['rpo_rows']:>8} {_f(m['announced_rows']):>9} "
                  f"{_f(m['rto_seconds']):>6} {took:>7.0f}", flush=True)
        untouched = processes(prod) == before
        print(f"\nproduction untouched (processes, pids, ports): {'yes' if untouched else 'NO'}")
    finally:
        if not options.keep:
            jobnaut(staging, "down", check=False)
            jobnaut(prod, "down", check=False)
            shutil.rmtree(root, ignore_errors=True)
            if options.database_url:  # the staging copy's database beside production's
                from jobnaut.ops.backups import postgres

                url = postgres.as_url(options.database_url)
                postgres.drop_database(url, f"{url.database}_staging")


def _f(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
