"""Job search in-process: `search.search_jobs` on an existing database, no HTTP, no server.

Not a test: it prints figures. Each request of search_bench's workload (the same seeded
paths) runs --repeat times in a row and its fastest run is kept, so a busy machine's
scheduling delays mostly fall away: what remains is the work of one search (its SQL and
building its rows). Run it once per source tree to compare two versions on one database:

    PYTHONPATH=/path/to/old/src .venv/bin/python bench/search_inprocess.py URL
    .venv/bin/python bench/search_inprocess.py URL

URL is a loaded database (e.g. one kept from search_bench, or loaded with
demo.load_generated). See bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jobnaut.app.db import make_engine, make_sessionmaker, transaction
from jobnaut.app.jobs import search
from jobnaut.app.jobs.schemas import JobQuery
from jobnaut.config import parse_database_url
from search_bench import workload


def query_of(path: str) -> JobQuery:
    params: dict[str, Any] = dict(parse_qsl(urlsplit(path).query))
    if "skills" in params:
        params["skills"] = params["skills"].split(",")
    return JobQuery(**params)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--per-kind", type=int, default=40, help="requests of each kind (40)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each; fastest kept (5)")
    args = parser.parse_args()
    engine = make_engine(parse_database_url(args.database_url))
    sessions = make_sessionmaker(engine)
    print(f"search_jobs from {Path(search.__file__).parents[3]}, {args.per_kind} requests "
          f"a kind, fastest of {args.repeat}")
    try:
        for kind, paths in workload().items():
            fastest = []
            for path in paths[:args.per_kind]:
                query = query_of(path)
                best = float("inf")
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    with transaction(sessions) as db:
                        search.search_jobs(db=db, query=query)
                    best = min(best, time.perf_counter() - started)
                fastest.append(best * 1000)
            fastest.sort()
            p90 = fastest[max(0, round(0.9 * len(fastest)) - 1)]
            print(f"  {kind:10} p50 {statistics.median(fastest):6.1f} ms   "
                  f"p90 {p90:6.1f} ms   max {fastest[-1]:6.1f} ms")
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
