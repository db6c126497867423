"""The planner's view of the jobs tables, brought up to date after a bulk load.

A search's plan depends on how many jobs match each filter and term; right after thousands
of rows arrive the planner still believes the tables hold what they held before (or, on a
fresh database, nothing), and on PostgreSQL the new rows are not yet marked all-visible, so
an index-only scan reads the table's pages after all (issue 11: VACUUM halved the filters'
p99). Every bulk loader (the demo data, the importer, the benchmark) ends with this.
"""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

JOB_TABLES = ("jobs", "job_skills")


def refresh_job_statistics(engine: Engine) -> None:
    """ANALYZE the jobs tables (PostgreSQL: VACUUM ANALYZE). Runs on its own connection
    outside any transaction, as VACUUM must: call it after the load has committed."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"VACUUM (ANALYZE) {', '.join(JOB_TABLES)}"))
        else:
            for table in JOB_TABLES:
                conn.execute(text(f"ANALYZE {table}"))


def engine_of(sessions: sessionmaker[Session]) -> Engine:
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("the sessionmaker is not bound to an engine")
    return bind
