"""Alembic migrations. Every revision has a downgrade that works (tests run both ways)."""
