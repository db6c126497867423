"""A deterministic generator of plausible job postings for the embedded demo.

The same seed gives the same jobs on every machine, so demos and tests can name them.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from jobnaut.app.jobs.models import EXPERIENCE_LEVELS, Job, JobSkill
from jobnaut.app.jobs.stats import engine_of, refresh_job_statistics

ROLES: dict[str, list[str]] = {
    "Backend Engineer": ["python", "postgresql", "docker", "fastapi", "redis", "aws", "sql"],
    "Frontend Developer": ["javascript", "typescript", "react", "css", "html", "testing"],
    "Data Engineer": ["python", "sql", "spark", "airflow", "kafka", "dbt", "aws"],
    "Data Scientist": ["python", "statistics", "machine learning", "pandas", "sql", "pytorch"],
    "DevOps Engineer": ["kubernetes", "terraform", "docker", "aws", "linux", "prometheus"],
    "Site Reliability Engineer": ["linux", "kubernetes", "go", "prometheus", "postgresql"],
    "Mobile Developer": ["kotlin", "swift", "react native", "testing", "graphql"],
    "Full Stack Developer": ["typescript", "react", "node.js", "postgresql", "graphql", "css"],
    "Security Engineer": ["security", "linux", "python", "networking", "aws"],
    "QA Engineer": ["testing", "python", "selenium", "playwright", "ci/cd"],
    "Product Designer": ["figma", "user research", "prototyping", "accessibility"],
    "Product Manager": ["roadmapping", "user research", "sql", "communication"],
    "Machine Learning Engineer": ["python", "pytorch", "machine learning", "kubernetes", "sql"],
    "Database Administrator": ["postgresql", "sql", "linux", "backup", "replication"],
    "Technical Writer": ["writing", "markdown", "api design", "communication"],
}
COMPANIES = [
    "Acme Analytics", "Bluefin Labs", "Cobalt Systems", "Driftwood Health", "Evergreen Energy",
    "Foxglove Finance", "Granite Logistics", "Harbor Robotics", "Ironbark Security",
    "Juniper Retail", "Kestrel Media", "Lumen Education", "Meridian Travel", "Northwind Foods",
    "Orchid Biotech", "Pinecone Games", "Quarry Civic Tech", "Redwood Insurance",
    "Saffron Payments", "Tidewater Climate",
]
LOCATIONS = [
    "Berlin, Germany", "London, United Kingdom", "Amsterdam, Netherlands", "Paris, France",
    "New York, NY", "San Francisco, CA", "Austin, TX", "Toronto, Canada", "Lisbon, Portugal",
    "Stockholm, Sweden", "Dublin, Ireland", "Warsaw, Poland", "Barcelona, Spain",
    "Seattle, WA", "Chicago, IL",
]
SALARY_BANDS = {"entry": (45_000, 70_000), "mid": (65_000, 105_000),
                "senior": (95_000, 150_000), "lead": (130_000, 200_000)}
LEVEL_TITLES = {"entry": "Junior ", "mid": "", "senior": "Senior ", "lead": "Lead "}
PERKS = ["flexible hours", "a learning budget", "four-day weeks in summer", "parental leave",
         "a home-office allowance", "stock options", "an annual team retreat"]

DEMO_SEED = 20261128
DEMO_COUNT = 3000


def generate_jobs(count: int = DEMO_COUNT, seed: int = DEMO_SEED,
                  now: datetime | None = None) -> Iterator[dict[str, object]]:
    rng = random.Random(seed)
    now = now or datetime(2026, 11, 28, tzinfo=UTC)
    roles = sorted(ROLES)
    for n in range(count):
        role = rng.choice(roles)
        level = rng.choice(EXPERIENCE_LEVELS)
        company = rng.choice(COMPANIES)
        location = rng.choice(LOCATIONS)
        remote = rng.random() < 0.35
        low, high = SALARY_BANDS[level]
        salary_min = rng.randrange(low, high, 1000)
        salary_max = salary_min + rng.randrange(5_000, 30_000, 1000)
        skills = rng.sample(ROLES[role], k=min(len(ROLES[role]), rng.randint(3, 5)))
        perks = ", ".join(rng.sample(PERKS, k=2))
        title = f"{LEVEL_TITLES[level]}{role}"
        description = (
            f"{company} is hiring a {title.lower()} in {location}"
            f"{' (remote friendly)' if remote else ''}. You will work with "
            f"{', '.join(skills[:-1])} and {skills[-1]} on a team that ships every week. "
            f"We offer {perks}."
        )
        yield {
            "source": "demo",
            "external_id": f"demo-{n:06d}",
            "title": title,
            "company": company,
            "location": location,
            "remote": remote,
            "salary_min": salary_min,
            "salary_max": salary_max,
            "currency": "EUR" if location.endswith(tuple(_EUROPE)) else "USD",
            "experience_level": level,
            "description": description,
            "url": f"https://jobs.example/{company.lower().replace(' ', '-')}/{n}",
            "posted_at": now - timedelta(hours=rng.randint(0, 24 * 90)),
            "skills": skills,
        }


_EUROPE = ("Germany", "Netherlands", "France", "Portugal", "Sweden", "Ireland", "Poland", "Spain")


def load_jobs(db: Session, jobs: Iterator[dict[str, object]], batch: int = 1000) -> int:
    """Insert jobs and their skills in batches; returns how many were inserted."""
    total = 0
    pending: list[dict[str, object]] = []

    def flush() -> None:
        nonlocal total
        rows = [{k: v for k, v in job.items() if k != "skills"} for job in pending]
        ids = db.scalars(insert(Job).returning(Job.id, sort_by_parameter_order=True), rows).all()
        skill_rows = [
            {"job_id": job_id, "skill": skill}
            for job_id, job in zip(ids, pending, strict=True)
            for skill in job["skills"]  # type: ignore[attr-defined]
        ]
        if skill_rows:
            db.execute(insert(JobSkill), skill_rows)
        total += len(rows)
        pending.clear()

    for job in jobs:
        pending.append(job)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return total


def load_generated(sessions: sessionmaker[Session], count: int, *, chunk: int = 10_000,
                   progress: Callable[[int], None] | None = None) -> int:
    """Insert `count` generated jobs, one transaction per `chunk` (for large loads), then
    refresh the planner's statistics."""
    from jobnaut.app.db import transaction

    generated = generate_jobs(count)
    loaded = 0
    while loaded < count:
        with transaction(sessions) as db:
            added = load_jobs(db, itertools.islice(generated, chunk), batch=2000)
        if not added:
            break
        loaded += added
        if progress is not None:
            progress(loaded)
    refresh_job_statistics(engine_of(sessions))
    return loaded


def load_demo_if_empty(sessions: sessionmaker[Session], count: int = DEMO_COUNT) -> int:
    """Load the demo jobs into a database without jobs (in one transaction), then refresh
    the planner's statistics; returns how many were loaded (0: there were jobs already)."""
    from jobnaut.app.db import transaction

    with transaction(sessions) as db:
        if db.scalar(select(func.count()).select_from(Job)):
            return 0
        loaded = load_jobs(db, generate_jobs(count))
    refresh_job_statistics(engine_of(sessions))
    return loaded
