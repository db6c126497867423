"""The recorded backup every data-changing step takes first (pre-deploy, safety): its own
module, so that deploys and rollbacks both use it without importing each other."""

from __future__ import annotations

from jobnaut.ops import backups, lock
from jobnaut.ops.actions.release_env import database_revision_for
from jobnaut.ops.context import Env
from jobnaut.ops.ledger import Release


@lock.locked_action("backup create")
def take_backup(env: Env, release: Release | None, kind: str) -> backups.Manifest:
    config = env.release_config(release) if release else env.config_of(env.current_config_id())
    backups.core.create_sqlite_file(config["DATABASE_URL"])
    revision = database_revision_for(config)
    manifest = backups.create_backup(env.home, config["DATABASE_URL"], kind=kind,
                                     release=release.name if release else None,
                                     schema_revision=revision)
    env.ledger.event(f"backup {manifest.id} ({kind}, {manifest.size} bytes, schema "
                     f"{revision or 'empty'})")
    return manifest
