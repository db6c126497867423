"""A staging environment made from production: its own ports, database and source clone,
the production database restored from production's latest *verified* backup, and the
production release deployed on it (ADR 0010).

Production is only read: its configuration (for the keys), its backups (for the dump) and
its source repository (cloned). Nothing here writes into the production home or database.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from jobnaut.ops import runner
from jobnaut.ops.actions import lifecycle
from jobnaut.ops.backups import core as backups
from jobnaut.ops.backups import postgres, store
from jobnaut.ops.backups.store import Manifest
from jobnaut.ops.context import Env
from jobnaut.ops.drills import settings as drill_settings
from jobnaut.ops.environment import CONFIG_NAME
from jobnaut.ops.errors import OpsError

STAGING_NAME = "staging"
STATE_SOURCE = "staging_of"  # ledger state of a staging home: the production home it copies
STATE_BACKUP = "staging_backup"  # the production backup its database was restored from


@dataclass(frozen=True)
class StagingCopy:
    home: Path
    production: Path
    backup: Manifest
    database_url: str
    commit: str | None  # production's active commit, deployed by the caller

    def as_json(self) -> dict[str, object]:
        return {"home": str(self.home), "production": str(self.production),
                "backup": self.backup.id, "commit": self.commit,
                "database": backups.engine_of(backups.parse(self.database_url))}


def git_clone(source: Path, destination: Path) -> list[str]:
    return ["git", "clone", "--quiet", "--no-checkout", str(source), str(destination)]


def git_fetch(clone: Path) -> list[str]:
    return ["git", "-C", str(clone), "fetch", "--quiet", "--prune", "origin",
            "+refs/heads/*:refs/remotes/origin/*"]


def latest_verified_backup(production: Env) -> Manifest:
    """Production's newest backup whose verification (checksum and test restore) passed."""
    for manifest in store.list_backups(production.home):
        if manifest.verified_at:
            return manifest
    raise OpsError(f"production at {production.home.root} has no verified backup",
                   hint="`jobnaut --home PROD backup create`, then `backup verify ID`")


def is_staging(env: Env) -> bool:
    return env.ledger.get_state(STATE_SOURCE) is not None


def production_of(env: Env) -> Env:
    source = env.ledger.get_state(STATE_SOURCE)
    if source is None:
        raise OpsError(f"{env.home.root} is not a staging environment",
                       hint="`jobnaut staging create --from PROD_HOME` makes one")
    return Env.open(Path(source))


def create(production_root: Path, staging_root: Path, *, backend_port: int | None = None,
           frontend_port: int | None = None) -> StagingCopy:
    """A new staging home copying production; the caller deploys `commit` on it."""
    production = Env.open(production_root)
    if staging_root.resolve() == production_root.resolve():
        raise OpsError("the staging home must differ from production's", exit_code=2)
    if (staging_root / CONFIG_NAME).exists():
        raise OpsError(f"{staging_root} already holds an environment",
                       hint="`jobnaut --home STAGING staging refresh` brings it up to date")
    manifest = latest_verified_backup(production)  # before anything is created
    production_ports = {production.home.config.backend_port,
                        production.home.config.frontend_port}
    taken = set(production_ports)
    backend, frontend = backend_port or _free_port(taken), frontend_port or _free_port(taken)
    if {backend, frontend} & production_ports or backend == frontend:
        raise OpsError("staging needs its own ports, not production's", exit_code=2)
    prod_config = production.config_of(production.current_config_id())
    database_url = _staging_database(prod_config["DATABASE_URL"], staging_root)
    clone = staging_root / "source"
    staging_root.mkdir(parents=True, exist_ok=True)
    runner.run(git_clone(production.home.config.source, clone))
    env = lifecycle.init(staging_root, source=clone, database_url=database_url,
                         backend_port=backend, frontend_port=frontend, name=STAGING_NAME,
                         environment="staging", guard=production.home.config.guard.enabled)
    _copy_settings(production, env)
    # The production keys, so that personal fields restored from its backup stay readable
    # (and stay encrypted at rest); only where this copy lives changes.
    config = {**prod_config, "DATABASE_URL": database_url, "JOBNAUT_ENV": "staging",
              "API_BASE_URL": f"http://127.0.0.1:{backend}"}
    env.ledger.set_state("initial_config", str(env.ledger.add_config(env.cipher.seal(config))))
    backups.restore_into(production.home, manifest.id, database_url)
    _mark(env, production, manifest)
    active = production.ledger.active_release()
    return StagingCopy(env.home.root, production.home.root, manifest, database_url,
                       active.ref if active else None)


def refresh(staging: Env) -> StagingCopy:
    """Production's newest verified backup swapped in for the staging database (after a
    backup of it), and production's source fetched; the caller stops the services first
    and deploys `commit` after."""
    production = production_of(staging)
    manifest = latest_verified_backup(production)
    live_url = staging.config_of(staging.current_config_id())["DATABASE_URL"]
    active = staging.ledger.active_release()
    kept = backups.create_backup(staging.home, live_url, kind="safety",
                                 release=active.name if active else None, schema_revision=None)
    staging.ledger.event(f"staging refresh: the staging database kept in backup {kept.id}")
    runner.run(git_fetch(staging.home.config.source))
    with backups.scratch_target(live_url) as restored:
        backups.restore_into(production.home, manifest.id, restored)
        backups.replace_database(live_url, restored)
    _mark(staging, production, manifest)
    prod_active = production.ledger.active_release()
    return StagingCopy(staging.home.root, production.home.root, manifest, live_url,
                       prod_active.ref if prod_active else None)


def _mark(env: Env, production: Env, manifest: Manifest) -> None:
    env.ledger.set_state(STATE_SOURCE, str(production.home.root))
    env.ledger.set_state(STATE_BACKUP, manifest.id)
    env.ledger.event(f"staging copy of {production.home.config.name} "
                     f"({production.home.root}): database restored from verified backup "
                     f"{manifest.id}")


def _staging_database(production_url: str, staging_root: Path) -> str:
    """A SQLite file in the staging home, or a new database on production's server."""
    url = backups.parse(production_url)
    if backups.engine_of(url) == "sqlite":
        return f"sqlite:///{staging_root.resolve() / 'data' / 'jobnaut.db'}"
    name = f"{url.database}_staging"
    with postgres.connect_admin(url) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            raise OpsError(f"database {name} already exists on production's server",
                           hint="drop it, or refresh the staging environment that uses it")
    # Production's URL as written (its scheme and options), only the database changed.
    return make_url(production_url).set(database=name).render_as_string(hide_password=False)


def _copy_settings(production: Env, staging: Env) -> None:
    """Production's jobnaut.toml (checks, guard, timeouts…) with staging's name, source
    and ports: a drill exercises the settings production runs with."""
    text = (production.home.root / CONFIG_NAME).read_text()
    mine = staging.home.config
    for key, value in (("name", f'"{STAGING_NAME}"'), ("source", f'"{mine.source}"'),
                       ("backend", str(mine.backend_port)),
                       ("frontend", str(mine.frontend_port))):
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.M)
    if not re.search(r"^\[drill\]", text, flags=re.M):
        text += drill_settings.SECTION
    (staging.home.root / CONFIG_NAME).write_text(text)


def _free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            taken.add(port)
            return port
