from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jobnaut.app.db import Base


class ApplicationStatus(StrEnum):
    saved = "saved"
    applied = "applied"
    interviewing = "interviewing"
    offer = "offer"
    rejected = "rejected"
    withdrawn = "withdrawn"


class SavedJob(Base):
    __tablename__ = "saved_jobs"
    __table_args__ = (UniqueConstraint("user_id", "job_id", name="uq_saved_jobs_user_job"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=ApplicationStatus.saved.value)
    notes_enc: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    # Set by "remove from board": the card, its notes and history stay, so it can be
    # restored (undo) and nothing a user wrote is lost to a slip of the finger.
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    events: Mapped[list[StatusChange]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="StatusChange.id"
    )


class StatusChange(Base):
    """When a saved job moved through the application pipeline."""

    __tablename__ = "saved_job_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    saved_job_id: Mapped[int] = mapped_column(
        ForeignKey("saved_jobs.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
