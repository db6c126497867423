"""Every model, imported in one place so that the metadata is complete (Alembic, tests)."""

from jobnaut.app.accounts.models import AuthToken, Profile, User
from jobnaut.app.db import Base
from jobnaut.app.feedback.models import ProblemReport
from jobnaut.app.jobs.models import Job, JobSkill
from jobnaut.app.saved.models import ApplicationStatus, SavedJob, StatusChange
from jobnaut.app.subscriptions.models import StatusSubscription

# Every column that holds data encrypted with ENCRYPTION_KEY, with a key to order its rows
# by age. Readiness and the control plane's key check both read this list.
ENCRYPTED_COLUMNS = (
    (Profile.full_name_enc, Profile.user_id),
    (Profile.location_enc, Profile.user_id),
    (SavedJob.notes_enc, SavedJob.id),
    (ProblemReport.message_enc, ProblemReport.id),
)

__all__ = [
    "ENCRYPTED_COLUMNS",
    "ApplicationStatus",
    "AuthToken",
    "Base",
    "Job",
    "JobSkill",
    "ProblemReport",
    "Profile",
    "SavedJob",
    "StatusChange",
    "StatusSubscription",
    "User",
]
