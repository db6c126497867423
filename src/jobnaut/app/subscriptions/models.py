from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

from jobnaut.app.db import Base


class StatusSubscription(Base):
    """An email address that asked for status notices (double opt-in).

    The confirmation token is kept only as a hash (it proves the address is theirs); the
    unsubscribe token is kept as is, because every notice the control plane sends must
    carry a working unsubscribe link — it can do nothing but unsubscribe.
    """

    __tablename__ = "status_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    confirm_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unsubscribe_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
