"""Database backups: consistent dumps with a manifest (sizes, sha256, row counts), verified
by a test restore, restored side by side and swapped in, compared row by row, pruned.

A library: the procedures (deploy's backup step, `rollback migration`, `jobnaut backup …`)
are built on these functions. Layout and durability rules are in `store`.
"""

from jobnaut.ops.backups.core import (
    create_backup,
    replace_database,
    restore_into,
    scratch_target,
    table_counts,
    verify_backup,
)
from jobnaut.ops.backups.diff import TableDiff, compare_backups, export_diff
from jobnaut.ops.backups.postgres import scratch_database
from jobnaut.ops.backups.store import (
    KINDS,
    RETAINED_KINDS,
    Manifest,
    VerifyResult,
    delete_backups,
    get_backup,
    list_backups,
    prune_plan,
)

__all__ = [
    "KINDS",
    "RETAINED_KINDS",
    "Manifest",
    "TableDiff",
    "VerifyResult",
    "compare_backups",
    "create_backup",
    "delete_backups",
    "export_diff",
    "get_backup",
    "list_backups",
    "prune_plan",
    "replace_database",
    "restore_into",
    "scratch_database",
    "scratch_target",
    "table_counts",
    "verify_backup",
]
