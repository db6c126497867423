"""Steps shared by every procedure that puts a release in front of users: migrate, start
its processes, check them before they take traffic, switch, retire the old ones, verify.

Used by deploys, configuration changes, and code and configuration rollbacks, so every one
of them has the same rule: a release that fails its checks never takes traffic.
"""

from __future__ import annotations

from typing import Any

from jobnaut.ops import build, checks, commands, runner
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import process as driver
from jobnaut.ops.environment import SERVICES
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import ProcessRecord, Release
from jobnaut.ops.operation import Run, Step


def service_env(env: Env, release: Release, service: str) -> dict[str, str]:
    """What `service`'s processes (and commands run with its code) are given: only the
    settings it reads, so that the frontend never holds the backend's secrets."""
    from jobnaut.config import settings_of

    wanted = settings_of(service)
    config = {k: v for k, v in env.release_config(release).items() if k in wanted}
    given = {**config, "JOBNAUT_RELEASE": release.name, "JOBNAUT_COMMIT": release.ref}
    if service == "frontend":  # the incident banner comes from the published status data
        given["JOBNAUT_STATUS_FILE"] = str(
            driver.traffic_switch(env.home).layout.pages_dir / "status.json")
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


def ensure_built(env: Env, release: Release) -> str:
    build_dir = env.home.build_dir(release.ref)
    if build.build(env.home.config.source, release.ref, build_dir):
        return f"built {release.ref[:12]} into {build_dir.name[:12]}"
    return f"files of {release.ref[:12]} already built"


def database_revision(env: Env, release: Release) -> str | None:
    return database_revision_for(env.release_config(release))


def database_revision_for(config: dict[str, str]) -> str | None:
    """The database's schema revision (Alembic's version table), read directly."""
    from jobnaut.app.db import engine_for
    from jobnaut.app.schema import current_revision

    with engine_for(config["DATABASE_URL"]) as engine:
        return current_revision(engine)


def foreign_key_problems(config: dict[str, str]) -> list[str]:
    from jobnaut.app import schema
    from jobnaut.app.db import engine_for

    with engine_for(config["DATABASE_URL"]) as engine:
        return schema.foreign_key_problems(engine)


def live_processes(env: Env, service: str | None = None) -> list[ProcessRecord]:
    return [p for p in env.ledger.running_processes()
            if p.role == "live" and (service is None or p.service == service)]


def release_processes(env: Env, release_id: int,
                      services: tuple[str, ...]) -> dict[str, ProcessRecord]:
    found = {}
    for p in env.ledger.running_processes():
        if p.release_id == release_id and p.service in services and driver.alive(p):
            found[p.service] = p
    return found


def start_and_check_steps(release_of: Any, services: tuple[str, ...] = SERVICES) -> list[Step]:
    """Start (or reuse warm) processes for the release, then check them privately."""

    def start(run: Run) -> str:
        env, release = run.env, release_of(run)
        driver.ensure_switch(env.home)
        reused = release_processes(env, release.id, services)
        if len(reused) < len(services):
            ensure_built(env, release)  # cheap when built; a pruned build is made again
        started = []
        for service in services:
            if service in reused:
                continue
            proc = driver.start_service(env.home, env.ledger, release_id=release.id,
                                        build_dir=env.home.build_dir(release.ref),
                                        service=service,
                                        env=service_env(env, release, service))
            started.append(proc)
        for proc in started:
            driver.wait_healthy(proc, env.home.config.start_timeout)
        candidates = release_processes(env, release.id, services)
        run.ctx["candidates"] = {s: p.id for s, p in candidates.items()}
        parts = [f"{p.service} pid {p.pid} port {p.port}" for p in candidates.values()]
        warm = [s for s in services if s in reused]
        return ", ".join(parts) + (f" (warm: {', '.join(warm)})" if warm else "")

    def check(run: Run) -> str:
        env, release = run.env, release_of(run)
        procs = release_processes(env, release.id, services)
        urls = {s: f"http://127.0.0.1:{p.port}" for s, p in procs.items()}
        for service in SERVICES:  # a service not being switched is checked where it is live
            if service not in urls:
                live = live_processes(env, service)
                urls[service] = (f"http://127.0.0.1:{live[0].port}" if live
                                 else env.home.config.public_url(service))
        if "backend" in procs and (not live_processes(env, "backend")
                                   or run.ctx.get("maintenance")):
            # First deploy or maintenance: no checked backend serves, and the new frontend
            # reaches the API through the public port, so the new backend is put behind it
            # before the frontend checks.
            driver.route(env.home, "backend", procs["backend"].port)
        results = checks.release_checks(env.home, urls["backend"], urls["frontend"])
        run.ctx["checks"] = [r.as_json() for r in results]
        if checks.failures(results):
            raise OpsError(f"{release.name} failed its checks: {checks.summary(results)}")
        return checks.summary(results)

    return [
        Step("start", "start the release's services on private ports (or reuse warm ones)", start),
        Step("check", "check liveness, readiness, critical endpoints and user flows before "
                      "any traffic", check),
    ]


def switch_steps(release_of: Any, services: tuple[str, ...] = SERVICES,
                 stop_previous: bool = False) -> list[Step]:
    def switch(run: Run) -> str:
        env, release = run.env, release_of(run)
        driver.ensure_switch(env.home)
        procs = release_processes(env, release.id, services)
        previous: dict[str, int] = {}
        for service in services:
            for old in live_processes(env, service):
                if old.release_id != release.id:
                    previous[service] = old.id
            driver.route(env.home, service, procs[service].port, release.name)
            env.ledger.set_process_role(procs[service].id, "live")
        run.ctx.setdefault("retiring", {}).update(previous)
        kind = env.ledger.operation(run.operation_id).kind
        if set(services) == set(SERVICES):
            env.ledger.set_active_release(release.id, operation_id=run.operation_id,
                                          operation_kind=kind)
        else:
            for service in services:
                env.ledger.set_service_release(service, release.id,
                                               operation_id=run.operation_id, operation_kind=kind)
        run.ctx["switched"] = True
        run.event(f"traffic switched to {release.name} ({', '.join(services)})")
        return f"{', '.join(services)} now served by {release.name}"

    def retire(run: Run) -> str:
        env = run.env
        keep_warm = env.home.config.keep_warm and not stop_previous
        running = {p.id: p for p in env.ledger.running_processes()}
        retiring = [running[i] for i in run.ctx.get("retiring", {}).values() if i in running]
        notes = []
        # Only one previous release stays warm: older warm processes stop now.
        for p in running.values():
            if p.role == "warm" and p.service in services and p.id not in {r.id for r in retiring}:
                driver.stop_process(env.ledger, p, env.home.config.drain_timeout)
                notes.append(f"stopped warm {p.service} of v{p.release_id}")
        for p in retiring:
            if keep_warm:
                env.ledger.set_process_role(p.id, "warm")
                notes.append(f"{p.service} of v{p.release_id} kept warm (pid {p.pid})")
            else:
                driver.stop_process(env.ledger, p, env.home.config.drain_timeout)
                notes.append(f"stopped {p.service} of v{p.release_id} after in-flight requests")
        return "; ".join(notes) or "nothing to retire"

    def verify(run: Run) -> str:
        env = run.env
        cfg = env.home.config
        results = checks.release_checks(env.home, cfg.public_url("backend"),
                                        cfg.public_url("frontend"))
        if checks.failures(results):
            raise OpsError(f"verification through the public ports failed: "
                           f"{checks.summary(results)}")
        return checks.summary(results) + " through the public ports"

    return [
        Step("switch", "switch traffic to the release (in-flight requests finish where they "
                       "started)", switch),
        Step("retire", "stop the previous release after in-flight requests (or keep it warm)",
             retire),
        Step("verify", "verify through the public ports", verify),
    ]


def abandon_candidate(run: Run, release: Release, services: tuple[str, ...] = SERVICES) -> None:
    """After a failure: traffic back to what served before, candidate processes stopped.
    A candidate that already took traffic is stopped only once something else serves in
    its place: a failed release that still answers beats an outage."""
    env = run.env
    retiring = run.ctx.get("retiring", {})
    running = {p.id: p for p in env.ledger.running_processes()}
    keep_live: set[str] = set()
    if run.ctx.get("switched"):
        for service, process_id in retiring.items():
            old = running.get(process_id)
            if old is None or not driver.alive(old):
                old = _restart_previous(run, service)
            if old is None:
                keep_live.add(service)
                run.event(f"nothing to return {service} traffic to: {release.name} keeps "
                          "serving it", level="error")
                continue
            driver.route(env.home, service, old.port)
            env.ledger.set_process_role(old.id, "live")
            env.ledger.set_service_release(service, old.release_id,
                                           operation_id=run.operation_id,
                                           operation_kind="return after failure")
            run.event(f"traffic for {service} returned to v{old.release_id}", level="warning")
        previous_active = run.ctx.get("previous_active")
        if previous_active and set(services) == set(SERVICES) and not keep_live:
            env.ledger.set_active_release(int(previous_active), operation_id=run.operation_id,
                                          operation_kind="return after failure")
    for service in services:
        if service in retiring or not driver.switch_running(env.home):
            continue
        serving = [p for p in live_processes(env, service)
                   if p.release_id != release.id and driver.alive(p)]
        # Traffic stays with (or goes back to) what served before; with nothing before, 503.
        driver.route(env.home, service, serving[0].port if serving else None)
    for p in env.ledger.running_processes():
        if p.release_id == release.id and p.service in services and p.service not in keep_live:
            driver.stop_process(env.ledger, p, env.home.config.drain_timeout)
    env.ledger.update_release(release.id, status="failed")


def _restart_previous(run: Run, service: str) -> ProcessRecord | None:
    """Start the previous release's process again (it was stopped, not kept warm)."""
    previous_active = run.ctx.get("previous_active")
    if not previous_active:
        return None
    env = run.env
    previous = env.ledger.release(int(previous_active))
    try:
        ensure_built(env, previous)
        proc = driver.start_service(env.home, env.ledger, release_id=previous.id,
                                    build_dir=env.home.build_dir(previous.ref), service=service,
                                    env=service_env(env, previous, service))
        proc = driver.wait_healthy(proc, env.home.config.start_timeout)
    except OpsError as exc:
        run.event(f"could not restart {service} of {previous.name}: {exc.message}", "error")
        return None
    return proc
