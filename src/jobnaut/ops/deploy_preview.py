"""What a deploy would change, said before it runs (`jobnaut deploy --dry-run`): the commit
the ref resolves to, the commits since the active release, the migrations that would run,
whether deploys are frozen, and what gets backed up. Read from git and the ledger only:
nothing is built, started or written."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from jobnaut.ops import build, commit_schema, runner
from jobnaut.ops.actions import release_env
from jobnaut.ops.context import Env

LISTED_COMMITS = 15


@dataclass(frozen=True)
class DeployPreview:
    ref: str
    commit: str
    active: str | None  # "v3 (1a2b3c4d5e6f)"
    commits: list[str]  # one line each, newest first, at most LISTED_COMMITS
    commits_total: int
    backwards: bool  # the commit is an ancestor of the active one: this deploys older code
    schema_now: str | None
    migrations: list[str]  # the revisions the upgrade would run, oldest first
    frozen: str | None
    backup: str
    configuration: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        said = [f"{self.ref} is {self.commit[:12]}"
                + (f"; serving now: {self.active}" if self.active else "; nothing deployed yet")]
        if self.active:
            direction = "older code (it is an ancestor of the active release)" \
                if self.backwards else f"{self.commits_total} commit(s) since the active release"
            said.append(direction)
            said += [f"    {line}" for line in self.commits]
            if self.commits_total > len(self.commits):
                said.append(f"    … and {self.commits_total - len(self.commits)} more")
        if self.migrations:
            said.append(f"migrations to run: {', '.join(self.migrations)} "
                        f"(database at {self.schema_now or 'empty'})")
        else:
            said.append(f"no migrations to run (database at {self.schema_now or 'empty'})")
        said.append(f"backup: {self.backup}")
        said.append(f"configuration: {self.configuration}")
        said.append(f"deploys frozen: {self.frozen}" if self.frozen else "deploys are not frozen")
        return said


def preview_deploy(env: Env, ref: str) -> DeployPreview:
    source = env.home.config.source
    commit = build.resolve_ref(source, ref)
    active = env.ledger.active_release()
    commits: list[str] = []
    total, backwards = 0, False
    if active is not None:
        span = f"{active.ref}..{commit}"
        total = int(runner.run(["git", "-C", str(source), "rev-list", "--count", span]).strip())
        commits = runner.run(["git", "-C", str(source), "log", "--no-decorate",
                              "--format=%h %s", f"--max-count={LISTED_COMMITS}",
                              span]).splitlines()
        backwards = total == 0 and commit != active.ref
    config = env.config_of(env.current_config_id())
    try:
        schema_now = release_env.database_revision_for(config)
    except Exception:  # an unreachable database: the deploy's own steps report it
        schema_now = None
    known = commit_schema.schema_of_commit(source, commit)
    migrations = known.pending_from(schema_now) if known else []
    return DeployPreview(
        ref=ref, commit=commit,
        active=f"{active.name} ({active.ref[:12]})" if active else None,
        commits=commits, commits_total=total, backwards=backwards, schema_now=schema_now,
        migrations=migrations, frozen=env.ledger.get_state("deploy_freeze"),
        backup="the whole database, before anything changes it (kind pre-deploy)",
        configuration=("unchanged: the active release's snapshot" if active else
                       "the environment's first configuration") + " (`config diff` compares)",
    )
