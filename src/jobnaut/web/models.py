"""Typed shapes of what the backend API returns (the contract, read side).

Unknown fields are ignored so that the backend can grow without breaking the pages.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

STATUSES: tuple[str, ...] = ("saved", "applied", "interviewing", "offer", "rejected", "withdrawn")
EXPERIENCE_LEVELS: tuple[str, ...] = ("entry", "mid", "senior", "lead")
SORTS: tuple[str, ...] = ("relevance", "newest", "salary")


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class User(ApiModel):
    id: int | str
    email: str


class AuthResult(ApiModel):
    token: str
    user: User


class Profile(ApiModel):
    full_name: str | None = None
    location: str | None = None
    experience_level: str | None = None
    skills: list[str] = Field(default_factory=list)


class Me(User):
    profile: Profile = Field(default_factory=Profile)


class JobSummary(ApiModel):
    id: int | str
    title: str
    company: str
    location: str | None = None
    remote: bool = False
    salary_min: int | None = None
    salary_max: int | None = None
    currency: str | None = None
    experience_level: str | None = None
    skills: list[str] = Field(default_factory=list)
    posted_at: datetime | None = None


class JobDetail(JobSummary):
    description: str = ""
    url: str | None = None


class JobPage(ApiModel):
    total: int
    total_capped: bool = False  # more match than `total` (the backend counts up to 10,000)
    page: int
    per_page: int
    items: list[JobSummary]

    @property
    def pages(self) -> int:
        if self.per_page <= 0:
            return 1
        return max(1, -(-self.total // self.per_page))

    @property
    def total_text(self) -> str:
        """"1 job", "2,345 jobs", or "10,000+ jobs" when the backend stopped counting."""
        if self.total == 1 and not self.total_capped:
            return "1 job"
        return f"{self.total:,}{'+' if self.total_capped else ''} jobs"


class Match(ApiModel):
    job_id: int | str
    score: int
    matched: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    level_fit: float | None = None
    location_fit: float | None = None


class MatchList(ApiModel):
    profile_empty: bool = False
    items: list[Match] = Field(default_factory=list)


class Recommendation(ApiModel):
    job: JobSummary
    score: int
    missing: list[str] = Field(default_factory=list)


class StatusEvent(ApiModel):
    from_status: str | None = None
    to_status: str
    changed_at: datetime


class SavedJob(ApiModel):
    id: int | str
    job: JobSummary
    status: str
    notes: str | None = None
    created_at: datetime
    updated_at: datetime
    events: list[StatusEvent] = Field(default_factory=list)


class Meta(ApiModel):
    experience_levels: list[str] = Field(default_factory=lambda: list(EXPERIENCE_LEVELS))
    statuses: list[str] = Field(default_factory=lambda: list(STATUSES))


class SavedList(ApiModel):
    items: list[SavedJob]


class RecommendationList(ApiModel):
    items: list[Recommendation]
