"""Bind encrypted values written before binding existed to their row and column.

`rebind(db, cipher)` re-encrypts each unbound value in ENCRYPTED_COLUMNS with its place
(see jobnaut.app.crypto); bound values are left alone, so it can run again at any time.
It rewrites personal data: run it after a recorded backup (the control plane's deploy
takes one before migrating), inside one transaction.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from jobnaut.app.crypto import FieldCipher, place
from jobnaut.app.models import ENCRYPTED_COLUMNS


def column_name(column: InstrumentedAttribute[str | None]) -> str:
    """`table.column`, the name a value's place starts with."""
    table_column = column.property.columns[0]
    return f"{table_column.table.name}.{table_column.name}"


def rebind(*, db: Session, cipher: FieldCipher) -> int:
    """Bind every unbound value; the number rewritten."""
    rewritten = 0
    for column, key in ENCRYPTED_COLUMNS:
        name = column_name(column)
        rows = db.execute(select(key, column).where(column.is_not(None))).all()
        for row_id, token in rows:
            if token is None or cipher.is_bound(token):
                continue
            value = cipher.decrypt(token, at=place(name, row_id))
            db.execute(update(column.class_).where(key == row_id)
                       .values({column.key: cipher.encrypt(value, at=place(name, row_id))}))
            rewritten += 1
    return rewritten
