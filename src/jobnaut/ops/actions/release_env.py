"""What a release is given and run with: the settings each service reads, the secrets to
mask, its schema commands (run with its own code), its artifact, its database's revision."""

from __future__ import annotations

from jobnaut.ops import commands, runner
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import driver_for, traffic
from jobnaut.ops.ledger import Release


def service_env(env: Env, release: Release, service: str) -> dict[str, str]:
    """What `service`'s processes (and commands run with its code) are given: only the
    settings it reads, so that the frontend never holds the backend's secrets."""
    from jobnaut.config import EXPECTED_SCHEMA_VARIABLE, settings_of

    wanted = settings_of(service)
    config = {k: v for k, v in env.release_config(release).items() if k in wanted}
    given = {**config, "JOBNAUT_RELEASE": release.name, "JOBNAUT_COMMIT": release.ref}
    if service == "backend" and release.schema_revision:
        given[EXPECTED_SCHEMA_VARIABLE] = release.schema_revision
    if service == "frontend":  # the incident banner comes from the published status data
        given["JOBNAUT_STATUS_FILE"] = str(
            traffic.traffic_switch(env.home).layout.pages_dir / "status.json")
    return given


def secret_values(config: dict[str, str]) -> list[str]:
    """The values in a configuration that must not appear in output: those of the known
    secrets, and the password inside DATABASE_URL on its own. Values too short to be
    secrets are left out, so that masking never eats digits of paths and hashes."""
    from jobnaut.config import SECRET_KEYS
    from jobnaut.ops.secrets import maskable

    found = [v for k, v in config.items() if k in SECRET_KEYS and v]
    url = config.get("DATABASE_URL", "")
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url) if url else None
    except Exception:  # a malformed URL holds no password we could pick out
        parsed = None
    if parsed is not None:
        if parsed.password:
            found.append(str(parsed.password))
        found += [str(v) for k, v in parsed.query.items() if "password" in k.lower()]
    return maskable(found)


def run_schema(env: Env, release: Release, *args: str, config: dict[str, str] | None = None,
               timeout: float = 1800) -> str:
    """`jobnaut schema …` with the release's own code and migrations, against its database
    (or `config`'s), secrets kept out of any error it reports."""
    values = {**service_env(env, release, "backend"), **(config or {})}
    return runner.run(commands.jobnaut_in(env.home.build_dir(release.ref), "schema", *args),
                      env=values, secrets=secret_values(values), timeout=timeout)


def prepare_schema(env: Env, release: Release, *args: str) -> runner.Prepared | None:
    """`jobnaut schema … --wait-for-go` with the release's own code, started and ready:
    `go()` runs it. None when the release's code cannot wait (built before it could)."""
    values = service_env(env, release, "backend")
    prepared = runner.Prepared(
        commands.jobnaut_in(env.home.build_dir(release.ref), "schema", *args, "--wait-for-go"),
        env=values, secrets=secret_values(values))
    return prepared if prepared.ready(env.home.config.start_timeout) else None


def ensure_built(env: Env, release: Release) -> str:
    """The release's artifact, made by the environment's driver unless it exists."""
    return driver_for(env.home).prepare(env.home, release.ref)


def database_revision(env: Env, release: Release) -> str | None:
    return database_revision_for(env.release_config(release))


def database_revision_for(config: dict[str, str]) -> str | None:
    """The database's schema revision (Alembic's version table), read directly."""
    from jobnaut.ops.backups.core import schema_revision

    return schema_revision(config["DATABASE_URL"])


def foreign_key_problems(config: dict[str, str]) -> list[str]:
    from jobnaut.app import schema
    from jobnaut.app.db import engine_for

    with engine_for(config["DATABASE_URL"]) as engine:
        return schema.foreign_key_problems(engine)
