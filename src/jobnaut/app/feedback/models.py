from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from jobnaut.app.db import Base


class ProblemReport(Base):
    """A "report a problem" from the web app, kept with the release that was serving, so
    the control plane can set each release's report rate beside its error rate."""

    __tablename__ = "problem_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    release: Mapped[str] = mapped_column(String(80), index=True)
    page: Mapped[str] = mapped_column(String(300))
    message_enc: Mapped[str] = mapped_column(Text)  # what a person wrote: encrypted at rest
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
