"""The faults drills inject: source edits and migrations, applied to the active release's
tree in a commit of the staging source clone (never production's repository)."""

from __future__ import annotations

# Passes every pre-traffic check (they save, move and remove a job, never edit notes) and
# then fails real users: every notes update answers 500.
NOTES_BROKEN = {"src/jobnaut/app/saved/routes.py": (
    "    return service.update_saved(db=db, cipher=cipher, user=user, saved_id=saved_id, "
    "change=body)",
    "    if body.notes is not None:\n"
    "        raise RuntimeError('drill fault: editing notes is broken')\n"
    "    return service.update_saved(db=db, cipher=cipher, user=user, saved_id=saved_id, "
    "change=body)")}

MIGRATION = '''"""{doc}

Revision ID: {rev}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''

# A column that receives data, whose downgrade drops it with that data.
DESTRUCTIVE_DOWNGRADE = dict(
    doc="drill: add users.drill_badge, filled; its downgrade drops it",
    upgrade='    with op.batch_alter_table("users") as batch:\n'
            '        batch.add_column(sa.Column("drill_badge", sa.String(40)))\n'
            '    op.execute("UPDATE users SET drill_badge = \'drill\'")',
    downgrade='    with op.batch_alter_table("users") as batch:\n'
              '        batch.drop_column("drill_badge")')
# A migration that cannot be undone: only a restore of the pre-deploy backup goes back.
NO_DOWNGRADE = dict(
    doc="drill: add drill_ledger with no way back",
    upgrade='    op.create_table("drill_ledger", sa.Column("id", sa.Integer, primary_key=True),\n'
            '                    sa.Column("body", sa.Text))',
    downgrade='    raise NotImplementedError("drill: this migration cannot be undone")')


def migration_file(rev: str, down: str, spec: dict[str, str]) -> dict[str, str]:
    path = f"src/jobnaut/migrations/versions/{rev}_drill.py"
    return {path: MIGRATION.format(rev=rev, down=down, **spec)}
