"""Job-search latency and throughput of the real backend, over HTTP, against a baseline.

Not a test: it prints figures. For each database (a fresh SQLite file, a fresh PostgreSQL
database) it loads N generated jobs, starts `python -m jobnaut serve backend` on a loopback
port, and drives it with a few concurrent HTTP clients: first GET /health (the baseline: a
trivial request through the same server, framework and client), then each kind of search.
See bench/README.md.

    .venv/bin/python bench/search_bench.py [--jobs 100000] [--requests 2000] [--db both]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from benchkit import serve_backend
from jobnaut.app import schema
from jobnaut.app.db import make_engine, make_sessionmaker
from jobnaut.app.jobs.demo import LOCATIONS, ROLES, load_generated
from jobnaut.config import parse_database_url

console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
SEED = 1729

FULL_TEXT = ["python", "kubernetes", "data engineer", "react typescript",
             "senior backend engineer", "machine learning", "postgresql replication",
             "security", "remote friendly", "figma prototyping", "learning budget", "pyth",
             "lead devops", "junior frontend developer", "graphql", "Acme Analytics"]
LEVELS = ["entry", "mid", "senior", "lead"]
CITIES = [loc.split(",")[0] for loc in LOCATIONS]


# --- the workload ----------------------------------------------------------------------


def _filters(rng: random.Random) -> dict[str, str]:
    choices: list[tuple[str, str]] = [
        ("location", rng.choice(CITIES)),
        ("remote", "true"),
        ("experience_level", rng.choice(LEVELS)),
        ("salary_min", str(rng.randrange(60_000, 160_000, 10_000))),
        ("skills", ",".join(rng.sample(ROLES[rng.choice(sorted(ROLES))], k=rng.randint(1, 2)))),
        ("posted_since", f"2026-{rng.randint(9, 11):02d}-{rng.randint(1, 28):02d}"),
    ]
    picked = dict(rng.sample(choices, k=rng.randint(1, 3)))
    if rng.random() < 0.5:
        picked["sort"] = rng.choice(["newest", "salary"])
    return picked


def workload(seed: int = SEED, per_scenario: int = 300) -> dict[str, list[str]]:
    """Request paths per scenario, deterministic for a seed."""
    rng = random.Random(seed)

    def path(params: dict[str, str]) -> str:
        return "/api/jobs?" + urlencode(params)

    full_text = [path({"q": rng.choice(FULL_TEXT)}) for _ in range(per_scenario)]
    filters = [path(_filters(rng)) for _ in range(per_scenario)]
    combined = [path({"q": rng.choice(FULL_TEXT), **_filters(rng)}) for _ in range(per_scenario)]
    paginated = []
    for _ in range(per_scenario):
        base = {"q": rng.choice(FULL_TEXT)} if rng.random() < 0.5 else _filters(rng)
        paginated.append(path({**base, "page": str(rng.randint(2, 50)), "per_page": "20"}))
    return {"full-text": full_text, "filters": filters, "combined": combined,
            "paginated": paginated}


# --- measuring -------------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: int = 0
    elapsed: float = 0.0
    stopped_by_time: bool = False

    @property
    def count(self) -> int:
        return len(self.latencies)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan

    @property
    def rps(self) -> float:
        return self.count / self.elapsed if self.elapsed else math.nan

    @classmethod
    def pooled(cls, name: str, parts: list[Figures]) -> Figures:
        return cls(name, [x for p in parts for x in p.latencies], sum(p.errors for p in parts),
                   sum(p.elapsed for p in parts), any(p.stopped_by_time for p in parts))


async def drive(base_url: str, name: str, paths: list[str], count: int, concurrency: int,
                max_seconds: float) -> Figures:
    """`count` GETs cycling through `paths` from `concurrency` clients, bounded in time."""
    figures = Figures(name)
    issued = itertools.count()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as client:
        started = time.perf_counter()
        deadline = started + max_seconds

        async def worker() -> None:
            while True:
                n = next(issued)
                if n >= count:
                    return
                if time.perf_counter() > deadline:
                    figures.stopped_by_time = True
                    return
                begin = time.perf_counter()
                try:
                    response = await client.get(paths[n % len(paths)])
                except httpx.HTTPError:
                    figures.errors += 1
                    continue
                took = time.perf_counter() - begin
                if response.status_code == 200:
                    figures.latencies.append(took)
                else:
                    figures.errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        figures.elapsed = time.perf_counter() - started
    return figures


# --- databases and the server ----------------------------------------------------------


@contextmanager
def fresh_database(kind: str, workdir: Path, pg_admin_url: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    name = f"jobnaut_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(pg_admin_url).set(database=name).render_as_string(False)
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load(database_url: str, jobs: int, chunk: int = 10_000) -> float:
    """Migrate, load `jobs` demo jobs (analysed); returns the seconds the load took."""
    engine = make_engine(parse_database_url(database_url))
    try:
        schema.upgrade(engine)
        sessions = make_sessionmaker(engine)
        started = time.perf_counter()

        def progress(loaded: int) -> None:
            if console.is_terminal:
                console.print(f"  loaded {loaded:,} / {jobs:,} jobs "
                              f"({time.perf_counter() - started:.0f}s)", end="\r")

        # load_generated ends with refresh_job_statistics: VACUUM ANALYZE on PostgreSQL,
        # ANALYZE on SQLite, as every bulk loader does.
        loaded = load_generated(sessions, jobs, chunk=chunk, progress=progress)
        took = time.perf_counter() - started
        console.print(f"  loaded {loaded:,} jobs in {took:.1f}s ({loaded / took:,.0f} jobs/s)"
                      + " " * 12)
        return took
    finally:
        engine.dispose()


@contextmanager
def backend(database_url: str, log_path: Path) -> Iterator[str]:
    with serve_backend(database_url, log_path) as port:
        yield f"http://127.0.0.1:{port}"


@dataclass
class Run:
    kind: str
    jobs: int
    load_seconds: float
    health: list[Figures]
    searches: list[Figures]
    load_before: float  # 1-minute load average of the machine
    load_after: float
    concurrency: int


# --- the run ---------------------------------------------------------------------------


async def measure(url: str, args: argparse.Namespace,
                  concurrency: int) -> tuple[list[Figures], list[Figures]]:
    scenarios = workload()
    # Warm up: every distinct request shape once or more, not recorded.
    for name, paths in scenarios.items():
        warm = await drive(url, name, paths, min(len(paths), 100), concurrency, 60)
        if warm.errors:
            raise RuntimeError(f"{warm.errors} errors while warming up {name}")
    await drive(url, "health", ["/health"], 200, concurrency, 30)

    # The baseline is measured before and after the searches, half each, so that a change
    # in the machine's load during the run shows (and is shared by both sides).
    half = max(1, args.requests // 2)
    before = await drive(url, "GET /health, before", ["/health"], half, concurrency,
                         args.max_seconds)
    per_kind = max(1, args.requests // len(scenarios))
    searches = []
    for name, paths in scenarios.items():
        searches.append(await drive(url, f"search: {name}", paths, per_kind, concurrency,
                                    args.max_seconds))
    after = await drive(url, "GET /health, after", ["/health"], half, concurrency,
                        args.max_seconds)
    return [before, after], searches


def report(run: Run) -> None:
    concurrency = run.concurrency
    searches = run.searches
    health = Figures.pooled("GET /health (baseline)", run.health)
    everything = Figures.pooled("search: all kinds", searches)
    base_p50 = health.percentile(50)
    table = Table(title=f"{run.kind}: {run.jobs:,} jobs (loaded in {run.load_seconds:.0f}s), "
                        f"{concurrency} concurrent clients, load average "
                        f"{run.load_before:.1f} → {run.load_after:.1f}", title_justify="left")
    for column in ("scenario", "requests", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms",
                   "req/s", "p50 ÷ /health p50"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    rows = [*run.health, health, *searches, everything]
    for row in rows:
        table.add_row(
            row.name + (" (time bound)" if row.stopped_by_time else ""),
            f"{row.count:,}", str(row.errors),
            *(f"{row.percentile(p) * 1000:.1f}" for p in (50, 90, 99, 100)),
            f"{row.rps:,.0f}", f"×{row.percentile(50) / base_p50:.1f}",
            end_section=row is health or row is searches[-1],
        )
    console.print(table)
    kind = run.kind
    console.print(
        f"  {kind}: search p50 is ×{everything.percentile(50) / base_p50:.1f} and p99 "
        f"×{everything.percentile(99) / health.percentile(99):.1f} a GET /health; "
        f"throughput {everything.rps:,.0f} vs {health.rps:,.0f} req/s "
        f"(÷{health.rps / everything.rps:.1f})\n")


def _counts(value: str) -> list[int]:
    counts = [int(part) for part in value.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("client counts are whole numbers of at least 1")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs to load (100000)")
    parser.add_argument("--requests", type=int, default=2000,
                        help="requests for the baseline, and in total over the search kinds")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--concurrency", type=_counts, default=[4],
                        help="concurrent clients, or a comma-separated list of client counts "
                             "measured one after the other on the same load (4)")
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="time bound for each scenario (60)")
    parser.add_argument("--pg-url", default=os.environ.get("JOBNAUT_BENCH_PG_URL", DEFAULT_PG),
                        help="PostgreSQL admin URL; a temporary database is made on it")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]

    console.print(f"JobNaut search benchmark: {args.jobs:,} jobs, {args.requests:,} requests, "
                  f"{'/'.join(map(str, args.concurrency))} clients, "
                  f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    results: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="jobnaut-bench-") as tmp:
        workdir = Path(tmp)
        for kind in kinds:
            console.print(f"[bold]{kind}[/]")
            with fresh_database(kind, workdir, args.pg_url) as url:
                load_seconds = load(url, args.jobs)
                with backend(url, workdir / f"backend-{kind}.log") as server:
                    for concurrency in args.concurrency:
                        load_before = os.getloadavg()[0]
                        health, searches = asyncio.run(measure(server, args, concurrency))
                        load_after = os.getloadavg()[0]
                        run = Run(kind, args.jobs, load_seconds, health, searches,
                                  load_before, load_after, concurrency)
                        report(run)  # at once: a run cut short keeps what it measured
                        results.append(run)
    console.print()
    for run in results:
        report(run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
