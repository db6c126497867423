from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from jobnaut.app.accounts.schemas import ExperienceLevel
from jobnaut.app.types import Salary, Text, http_url_or_none

SortOrder = Literal["relevance", "newest", "salary"]
MAX_PAGE = 10_000
MAX_PER_PAGE = 100
# Counting stops here: a larger total is given as "10,000+" (total_capped). A broad term
# matches tens of thousands of jobs, and counting them all cost more than the rest of the
# search (issue 11, docs/adr/0017).
TOTAL_CAP = 10_000


class JobSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    company: str
    location: str
    remote: bool
    salary_min: int | None
    salary_max: int | None
    currency: str
    experience_level: str
    skills: list[str]
    posted_at: datetime

    @field_validator("posted_at")
    @classmethod
    def as_utc(cls, value: datetime) -> datetime:
        # SQLite hands back naive datetimes; every stored time is UTC.
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class JobDetail(JobSummary):
    description: str
    # Also on the way out: rows imported before links were checked may hold any scheme.
    url: Annotated[str | None, AfterValidator(http_url_or_none)]


class JobPage(BaseModel):
    total: int = Field(description=f"matching jobs, counted up to {TOTAL_CAP:,}: when more "
                                   f"match, {TOTAL_CAP:,} with total_capped set")
    total_capped: bool = Field(default=False, description=f"more jobs match than total "
                                                          f"says ({TOTAL_CAP:,}+)")
    page: int
    per_page: int
    items: list[JobSummary]


class JobQuery(BaseModel):
    """Search parameters; bad combinations are a 422, never an empty or wrong result."""

    q: Text | None = Field(default=None, max_length=200)
    location: Text | None = Field(default=None, max_length=200)
    remote: bool | None = None
    salary_min: Salary | None = None
    salary_max: Salary | None = None
    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$")
    experience_level: ExperienceLevel | None = None
    skills: list[Annotated[Text, Field(max_length=80)]] = Field(default_factory=list,
                                                                max_length=20)
    posted_since: date | None = None
    sort: SortOrder = "relevance"
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=20, ge=1, le=MAX_PER_PAGE)

    @model_validator(mode="after")
    def salary_range_in_order(self) -> JobQuery:
        if (
            self.salary_min is not None
            and self.salary_max is not None
            and self.salary_min > self.salary_max
        ):
            raise ValueError("salary_min must not exceed salary_max")
        return self


def job_summary(job: object) -> JobSummary:
    return JobSummary.model_validate(
        {**_fields(job, JobSummary), "skills": job.skill_names}  # type: ignore[attr-defined]
    )


def job_detail(job: object) -> JobDetail:
    return JobDetail.model_validate(
        {**_fields(job, JobDetail), "skills": job.skill_names}  # type: ignore[attr-defined]
    )


def _fields(obj: object, model: type[BaseModel]) -> dict[str, object]:
    return {name: getattr(obj, name) for name in model.model_fields if name != "skills"}
