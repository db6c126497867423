"""accounts, profiles, jobs with full-text search

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE jobs_fts USING fts5(title, company, description, "
    "content='jobs', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER jobs_fts_ai AFTER INSERT ON jobs BEGIN "
    "INSERT INTO jobs_fts(rowid, title, company, description) "
    "VALUES (new.id, new.title, new.company, new.description); END",
    "CREATE TRIGGER jobs_fts_ad AFTER DELETE ON jobs BEGIN "
    "INSERT INTO jobs_fts(jobs_fts, rowid, title, company, description) "
    "VALUES ('delete', old.id, old.title, old.company, old.description); END",
    "CREATE TRIGGER jobs_fts_au AFTER UPDATE ON jobs BEGIN "
    "INSERT INTO jobs_fts(jobs_fts, rowid, title, company, description) "
    "VALUES ('delete', old.id, old.title, old.company, old.description); "
    "INSERT INTO jobs_fts(rowid, title, company, description) "
    "VALUES (new.id, new.title, new.company, new.description); END",
]
POSTGRES_FTS = [
    "ALTER TABLE jobs ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(company, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'C')) STORED",
    "CREATE INDEX ix_jobs_search_vector ON jobs USING gin (search_vector)",
]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("clerk_user_id", sa.String(200), unique=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
    )
    op.create_table(
        "profiles",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("full_name_enc", sa.Text),
        sa.Column("location_enc", sa.Text),
        sa.Column("experience_level", sa.String(20)),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("company", sa.String(200), nullable=False),
        sa.Column("location", sa.String(200), nullable=False, index=True),
        sa.Column("remote", sa.Boolean, nullable=False),
        sa.Column("salary_min", sa.Integer),
        sa.Column("salary_max", sa.Integer),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("experience_level", sa.String(20), nullable=False, index=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("url", sa.String(1000)),
        sa.Column("posted_at", TS, nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("source", "external_id", name="uq_jobs_source_external_id"),
    )
    op.create_index("ix_jobs_posted_at", "jobs", ["posted_at"])
    op.create_index("ix_jobs_salary_max", "jobs", ["salary_max"])
    op.create_table(
        "job_skills",
        sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("skill", sa.String(80), primary_key=True, index=True),
    )
    for statement in SQLITE_FTS if op.get_context().dialect.name == "sqlite" else POSTGRES_FTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for trigger in ("jobs_fts_ai", "jobs_fts_ad", "jobs_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS jobs_fts")
    op.drop_table("job_skills")
    op.drop_table("jobs")
    op.drop_table("profiles")
    op.drop_table("auth_tokens")
    op.drop_table("users")
