"""Every model, imported in one place so that the metadata is complete (Alembic, tests)."""

from jobnaut.app.accounts.models import AuthToken, Profile, User
from jobnaut.app.db import Base
from jobnaut.app.jobs.models import Job, JobSkill
from jobnaut.app.saved.models import ApplicationStatus, SavedJob, StatusChange

__all__ = [
    "ApplicationStatus",
    "AuthToken",
    "Base",
    "Job",
    "JobSkill",
    "Profile",
    "SavedJob",
    "StatusChange",
    "User",
]
