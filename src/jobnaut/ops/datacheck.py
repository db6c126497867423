"""Questions about the live data that the control plane must answer before it acts."""

from __future__ import annotations

from sqlalchemy import select

from jobnaut.app.crypto import FieldCipher
from jobnaut.app.db import engine_for, make_sessionmaker
from jobnaut.app.models import ENCRYPTED_COLUMNS
from jobnaut.config import parse_encryption_keys


def unreadable_rows(config: dict[str, str]) -> int | None:
    """How many stored encrypted values the config's ENCRYPTION_KEY cannot decrypt
    (0 when the database has no schema yet; None when the database cannot be reached,
    which the new release's readiness check then reports)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import OperationalError

    cipher = FieldCipher(parse_encryption_keys(config["ENCRYPTION_KEY"]))
    with engine_for(config["DATABASE_URL"]) as engine:
        try:
            tables = set(inspect(engine).get_table_names())
        except OperationalError:
            return None
        unreadable = 0
        with make_sessionmaker(engine)() as session:
            for column, _age in ENCRYPTED_COLUMNS:
                if column.class_.__tablename__ not in tables:
                    continue
                for value in session.scalars(select(column).where(column.is_not(None))):
                    if value is not None and not cipher.can_decrypt(value):
                        unreadable += 1
        return unreadable
