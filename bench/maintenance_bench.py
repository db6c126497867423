"""The maintenance window of a migration rollback, as users see it: how long the API answers
503 during `rollback migration --yes` (a downgrade) and `rollback migration --restore-db
--yes` (a restore of the pre-deploy backup).

Not a test: it prints figures. It makes a real environment from a copy of this checkout
(SQLite, processes, the Caddy switch, no guard) with one commit more that adds a column,
filled, whose downgrade drops it. Each round deploys that commit (the release before stays
warm) and rolls it back, while a client asks the public API for a page of jobs in a loop.
The 503 window is the time from the first 503 answer to the first good answer after it;
the ledger's step times say where it went (from the maintenance step's start to the
switch's end). Baseline, same run: one request through the switch, and the command's
wall time.

    .venv/bin/python bench/maintenance_bench.py [--rounds 3]
        [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]

With `--pg-url` the environment's database is a new one on that PostgreSQL server (dropped
afterwards) instead of SQLite: a restore there is a `pg_restore` and a database renamed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from benchkit import REPO, Threads, free_port, git, source_copy

COLUMN = dict(
    doc="bench: add users.bench_badge, filled; its downgrade drops it",
    upgrade='    with op.batch_alter_table("users") as batch:\n'
            '        batch.add_column(sa.Column("bench_badge", sa.String(40)))\n'
            '    op.execute("UPDATE users SET bench_badge = \'bench\'")',
    downgrade='    with op.batch_alter_table("users") as batch:\n'
              '        batch.drop_column("bench_badge")')


def jobnaut(home: Path, *args: str, as_json: bool = True) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "jobnaut", "--home", str(home), *args,
                           *(["--json"] if as_json else [])],
                          capture_output=True, text=True, cwd=REPO, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"`jobnaut {' '.join(args)}` failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout)) if done.stdout.strip().startswith("{") else {}


def migration_commit(source: Path) -> str:
    from jobnaut.app.schema import expected_revision
    from jobnaut.ops.drills.faults import migration_file

    git(source, "checkout", "-q", "-B", "bench-column", "main")
    for relative, text in migration_file("0950", expected_revision(), COLUMN).items():
        (source / relative).write_text(text)
    git(source, "add", "-A")
    git(source, "commit", "-qm", "bench: a column")
    sha = git(source, "rev-parse", "HEAD")
    git(source, "checkout", "-q", "main")
    return sha


class Client(Threads):
    """GET a page of jobs through the public port in a loop; every answer's time and code
    (0: no answer)."""

    def __init__(self, url: str):
        super().__init__(self._run)
        self.url = url
        self.answers: list[tuple[float, int]] = []

    def _run(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self._stop.is_set():
                try:
                    code = http.get(self.url).status_code
                except httpx.TransportError:
                    code = 0
                self.answers.append((time.time(), code))
                time.sleep(0.02)

    def window(self) -> tuple[float, int, int]:
        """(seconds from the first 503 to the first good answer after it, 503s, others
        failed)."""
        unavailable = [t for t, code in self.answers if code == 503]
        if not unavailable:
            return 0.0, 0, 0
        back = next((t for t, code in self.answers if t > unavailable[-1] and code < 500),
                    self.answers[-1][0])
        failed = sum(1 for t, code in self.answers if code != 503 and (code >= 500 or code == 0))
        return back - unavailable[0], len(unavailable), failed


def step_seconds(home: Path, operation: int) -> dict[str, float]:
    from jobnaut.ops.context import Env

    steps = Env.open(home).ledger.steps(operation)
    moment = {s["name"]: (datetime.fromisoformat(s["started_at"]),
                          datetime.fromisoformat(s["finished_at"])) for s in steps}
    taken = {name: (end - start).total_seconds() for name, (start, end) in moment.items()}
    if "maintenance" in moment and "switch" in moment:
        taken["maintenance → switched"] = (moment["switch"][1]
                                           - moment["maintenance"][0]).total_seconds()
    return taken


@contextlib.contextmanager
def database(pg_url: str | None) -> Iterator[list[str]]:
    """`init`'s database arguments: none (SQLite), or a new database on the server."""
    if pg_url is None:
        yield []
        return
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"jobnaut_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ["--database-url", make_url(pg_url).set(database=name).render_as_string(False)]
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each kind")
    parser.add_argument("--pg-url", help="a PostgreSQL admin URL: the database is made there")
    options = parser.parse_args()
    kinds = {"downgrade": ("--yes",), "restore": ("--restore-db", "--yes")}
    results: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory(prefix="jobnaut-maintenance-bench-") as tmp, \
            database(options.pg_url) as database_args:
        root = Path(tmp)
        source, home = source_copy(root), root / "home"
        sha = migration_commit(source)
        backend, frontend = free_port(), free_port()
        jobnaut(home, "init", "--source", str(source), "--backend-port", str(backend),
                "--frontend-port", str(frontend), "--no-guard", *database_args, as_json=False)
        try:
            jobnaut(home, "deploy", "main", "-m", "bench: v1")
            url = f"http://127.0.0.1:{backend}/api/jobs?per_page=1"
            probe = []
            for _ in range(20):
                started = time.perf_counter()
                httpx.get(url, timeout=10).raise_for_status()
                probe.append(time.perf_counter() - started)
            for n in range(options.rounds):
                for kind, args in kinds.items():
                    jobnaut(home, "deploy", sha, "-m", f"bench: column, round {n + 1}")
                    with Client(url) as client:
                        time.sleep(0.5)
                        started = time.perf_counter()
                        done = jobnaut(home, "rollback", "migration", *args)
                        wall = time.perf_counter() - started
                        time.sleep(0.5)
                    window, unavailable, failed = client.window()
                    row = {"503 window": window, "503 answers": unavailable,
                           "other failures": failed, "wall": wall,
                           **step_seconds(home, int(done["operation"]))}
                    results[kind].append(row)
                    print(f"{kind} round {n + 1}: " + ", ".join(
                        f"{k} {v:.2f}" for k, v in row.items()), flush=True)
        finally:
            subprocess.run([sys.executable, "-m", "jobnaut", "--home", str(home), "down"],
                           capture_output=True, cwd=REPO)
    print(f"\nrollback migration, {options.rounds} rounds each (min / median / max)")
    for kind, rows in results.items():
        print(f"  {kind}")
        for name in rows[0]:
            values = [r.get(name, 0.0) for r in rows]
            print(f"    {name:32} {min(values):7.2f} / {statistics.median(values):7.2f} / "
                  f"{max(values):7.2f}")
    print(f"baseline, same run: one request through the switch "
          f"{statistics.median(probe) * 1000:.1f} ms (median)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
