"""saved jobs removed with an undo; problem reports; status-notice subscriptions

Saved jobs are removed with an undo: a removal time instead of a deleted row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Expand only (a nullable column), so the previous release runs on it unchanged (it would
show removed cards again, nothing worse). The downgrade drops the column and so brings
back every removed card with its notes and history: it destroys no user data. Plain
ALTER TABLE on both databases: batch mode on SQLite would recreate saved_jobs, and
dropping the old table cascades into saved_job_events.

Two new tables for issue 10: `problem_reports` (what users report, per release) and
`status_subscriptions` (emails that asked for status notices, double opt-in). Their
downgrade drops them: the migration rollback's safety backup holds their rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("saved_jobs", sa.Column("removed_at", TS))
    op.create_table(
        "problem_reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("release", sa.String(80), nullable=False, index=True),
        sa.Column("page", sa.String(300), nullable=False),
        sa.Column("message_enc", sa.Text, nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "status_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("confirm_token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("unsubscribe_token", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("confirmed_at", TS),
        sa.Column("unsubscribed_at", TS),
    )


def downgrade() -> None:
    op.drop_table("status_subscriptions")
    op.drop_table("problem_reports")
    op.execute("ALTER TABLE saved_jobs DROP COLUMN removed_at")
