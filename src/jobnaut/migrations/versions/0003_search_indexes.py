"""indexes for job search: covering indexes of the filter and sort columns, skills by name

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Plain CREATE INDEX / DROP INDEX on both databases: on SQLite the jobs table is never
recreated (batch mode would drop the FTS5 triggers made by 0001).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every column a search filters or sorts on besides the text: a total (count(*)) over any
# mix of filters, and the page's ids, are read from this index alone, without visiting
# the wide job rows; posted_at leads, for "posted since" ranges and newest-first order.
FILTER_COLUMNS = ["posted_at", "salary_max", "salary_min", "remote", "experience_level",
                  "location", "id"]
# The same columns in "best paid first" order (salary_max DESC NULLS LAST, posted_at DESC,
# id DESC), so a page sorted by salary is read off the index in order. SQLite sorts NULL
# lowest, so its ascending index read backwards is that order; PostgreSQL needs it spelt.
SALARY_ORDER = ["salary_max", "posted_at", "id"]
SALARY_ORDER_POSTGRES = ["salary_max DESC NULLS LAST", "posted_at DESC", "id DESC"]
REST = ["salary_min", "remote", "experience_level", "location"]


def upgrade() -> None:
    op.create_index("ix_jobs_search_filters", "jobs", FILTER_COLUMNS)
    if op.get_bind().dialect.name == "postgresql":
        salary: list[str | sa.TextClause] = [sa.text(c) for c in SALARY_ORDER_POSTGRES]
    else:
        salary = list(SALARY_ORDER)
    op.create_index("ix_jobs_search_salary", "jobs", [*salary, *REST])
    # "Jobs that ask for skill S": the job ids straight from the index.
    op.create_index("ix_job_skills_skill_job_id", "job_skills", ["skill", "job_id"])


def downgrade() -> None:
    op.drop_index("ix_job_skills_skill_job_id", table_name="job_skills")
    op.drop_index("ix_jobs_search_salary", table_name="jobs")
    op.drop_index("ix_jobs_search_filters", table_name="jobs")
