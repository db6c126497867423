"""Problem reports: record one, and count them per release."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobnaut.app.crypto import FieldCipher, place
from jobnaut.app.feedback.models import ProblemReport

MESSAGE = "problem_reports.message_enc"


def record(*, db: Session, cipher: FieldCipher, release: str, page: str, message: str) -> int:
    report = ProblemReport(release=release, page=page, message_enc="")
    db.add(report)
    db.flush()  # the message is bound to the row's id, known from here on
    report.message_enc = cipher.encrypt(message, at=place(MESSAGE, report.id)) or ""
    db.flush()
    return report.id


def counts_by_release(*, db: Session) -> dict[str, int]:
    """Totals since the start: the control plane takes differences for a rate."""
    query = select(ProblemReport.release, func.count()).group_by(ProblemReport.release)
    return {release: int(n) for release, n in db.execute(query).all()}
