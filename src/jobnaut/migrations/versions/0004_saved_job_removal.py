"""saved jobs are removed with an undo: a removal time instead of a deleted row

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Expand only (a nullable column), so the previous release runs on it unchanged (it would
show removed cards again, nothing worse). The downgrade drops the column and so brings
back every removed card with its notes and history: it destroys no user data. Plain
ALTER TABLE on both databases: batch mode on SQLite would recreate saved_jobs, and
dropping the old table cascades into saved_job_events.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("saved_jobs", sa.Column("removed_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.execute("ALTER TABLE saved_jobs DROP COLUMN removed_at")
