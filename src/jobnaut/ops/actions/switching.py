"""Steps shared by every procedure that puts a release in front of users: migrate, start
its processes, check them before they take traffic, switch, retire the old ones, verify.

Used by deploys, configuration changes, and code and configuration rollbacks, so every one
of them has the same rule: a release that fails its checks never takes traffic.
"""

from __future__ import annotations

import time
from typing import Any

from jobnaut.ops import checks, concurrently, lock
from jobnaut.ops.actions import rolled_back_warm as rolled_back
from jobnaut.ops.actions.release_env import ensure_built, service_env
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import driver_for, traffic
from jobnaut.ops.environment import SERVICES
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import RETIRING, ProcessRecord, Release
from jobnaut.ops.operation import Run, Step


def live_processes(env: Env, service: str | None = None) -> list[ProcessRecord]:
    return [p for p in env.ledger.running_processes()
            if p.role == "live" and (service is None or p.service == service)]


def release_processes(env: Env, release_id: int,
                      services: tuple[str, ...]) -> dict[str, ProcessRecord]:
    found = {}
    for p in env.ledger.running_processes():
        if p.release_id == release_id and p.service in services and driver_for(env.home).alive(p):
            found[p.service] = p
    return found


def start_and_check_steps(release_of: Any, services: tuple[str, ...] = SERVICES, *,
                          quick_when_warm: bool = False) -> list[Step]:
    """Start (or reuse warm) processes for the release, then check them privately. With
    `quick_when_warm` (a rollback to the release that served before), processes that were
    kept warm, and so passed every check when they took traffic, are checked only for what
    can have changed since, liveness and readiness; the full checks then run through the
    public ports right after the switch (`switch_steps(verify_first=True)`)."""

    def start(run: Run) -> str:
        env, release = run.env, release_of(run)
        traffic.ensure_switch(env.home)
        reused = release_processes(env, release.id, services)
        if len(reused) < len(services):
            ensure_built(env, release)  # cheap when built; a pruned build is made again
        started = []
        for service in services:
            if service in reused:
                continue
            proc = driver_for(env.home).start_service(env.home, env.ledger, release=release,
                                        service=service,
                                        env=service_env(env, release, service))
            started.append(proc)
        for proc in started:
            driver_for(env.home).wait_healthy(proc, env.home.config.start_timeout)
        candidates = release_processes(env, release.id, services)
        run.ctx["candidates"] = {s: p.id for s, p in candidates.items()}
        parts = [f"{p.service} pid {p.pid} port {p.port}" for p in candidates.values()]
        # Warm: kept running after it served (and passed every check then). A candidate
        # started before (a migration rollback starts its target before the maintenance
        # window) never took traffic: it gets every check.
        warm = [s for s in services if s in reused and reused[s].role != "candidate"]
        run.ctx["all_warm"] = len(warm) == len(services)
        return ", ".join(parts) + (f" (warm: {', '.join(warm)})" if warm else "")

    def check(run: Run) -> str:
        env, release = run.env, release_of(run)
        procs = release_processes(env, release.id, services)
        gone = [s for s in services if s not in procs]
        if gone:  # never check the serving release in its place
            raise OpsError(f"{release.name} failed its checks: {', '.join(gone)} not running "
                           "after its start")
        runs = driver_for(env.home)
        urls = {s: runs.address(p) for s, p in procs.items()}
        for service in SERVICES:  # a service not being switched is checked where it is live
            if service not in urls:
                live = live_processes(env, service)
                urls[service] = (runs.address(live[0]) if live
                                 else env.home.config.public_url(service))
        if "backend" in procs and (not live_processes(env, "backend")
                                   or run.ctx.get("maintenance")):
            # First deploy or maintenance: no checked backend serves, and the new frontend
            # reaches the API through the public port, so the new backend is put behind it
            # before the frontend checks.
            traffic.route(env.home, "backend", procs["backend"].port)
        quick = quick_when_warm and run.ctx.get("all_warm")
        results = (checks.readiness_checks if quick else checks.release_checks)(
            env.home, urls["backend"], urls["frontend"])
        run.ctx["checks"] = [r.as_json() for r in results]
        if checks.failures(results):
            raise OpsError(f"{release.name} failed its checks: {checks.summary(results)}")
        return checks.summary(results) + (" (warm: live and ready; every check runs through "
                                          "the public ports after the switch)" if quick else "")

    return [
        Step("start", "start the release's services on private ports (or reuse warm ones)", start),
        Step("check", "check liveness, readiness, critical endpoints and user flows before "
                      "any traffic", check),
    ]


def switch_steps(release_of: Any, services: tuple[str, ...] = SERVICES,
                 stop_previous: bool = False, verify_first: bool = False,
                 rolled_back_warm: bool = False) -> list[Step]:
    """Switch, retire the previous release's processes, verify through the public ports.
    The retire decides what stops, and the processes drain while the verify runs: neither
    waits for the other. With `verify_first` the verify comes before the retire: users are
    served from the switch on, and the command says so as soon as the checks confirm it
    (the retire then stops what it stops itself). With
    `rolled_back_warm` (a code rollback, `stop_previous` too) the processes left are kept
    warm for `[rollback] keep_warm_seconds` instead of stopped (ADR 0018)."""
    def switch(run: Run) -> str:
        env, release = run.env, release_of(run)
        traffic.ensure_switch(env.home)
        procs = release_processes(env, release.id, services)
        previous: dict[str, int] = {}
        for service in services:
            for old in live_processes(env, service):
                if old.release_id != release.id:
                    previous[service] = old.id
            traffic.route(env.home, service, procs[service].port, release.name)
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
        run.ctx["serving_at"] = time.time()
        run.event(f"traffic switched to {release.name} ({', '.join(services)})")
        return f"{', '.join(services)} now served by {release.name}"

    def retire(run: Run) -> str:
        env = run.env
        keep_warm = env.home.config.keep_warm and not stop_previous
        not_kept = rolled_back.why_not_kept(env) if rolled_back_warm else "not a code rollback"
        running = {p.id: p for p in env.ledger.running_processes()}
        retiring = [running[i] for i in run.ctx.get("retiring", {}).values() if i in running]
        leaving = {r.id for r in retiring}
        # In a deploy the processes drain while the verify runs; a rollback stops them here.
        verb = "stopped" if verify_first else "stopping"
        notes, stopping = [], []
        for p in running.values():
            if p.id in leaving or p.service not in services:
                continue
            if p.role == "warm":  # only one previous release stays warm
                stopping.append(p)
                notes.append(f"{verb} warm {p.service} of v{p.release_id}")
            elif p.role == rolled_back.ROLE and (not_kept is None or rolled_back.expired([p])):
                # Only one rolled-back release stays warm, and only until its time.
                stopping.append(p)
                notes.append(f"{verb} {p.service} of rolled-back v{p.release_id}")
            elif p.role == RETIRING:  # chosen by an attempt that was cut short
                stopping.append(p)
                notes.append(f"{verb} {p.service} of v{p.release_id}")
        for p in retiring:
            if keep_warm:
                env.ledger.set_process_role(p.id, "warm")
                notes.append(f"{p.service} of v{p.release_id} kept warm (pid {p.pid})")
            elif not_kept is None:
                until = rolled_back.keep(env, p)
                notes.append(f"{p.service} of v{p.release_id} kept warm until {until}, rolled "
                             f"back (pid {p.pid})")
            else:
                stopping.append(p)
                notes.append(f"{verb} {p.service} of v{p.release_id} after in-flight requests"
                             + (f" (not kept warm: {not_kept})" if rolled_back_warm else ""))
        if verify_first:
            stop_together(env, stopping)
        else:
            # Recorded before anything stops: a verify resumed after a crash, or `abandon`,
            # finds them by their role and stops them.
            for p in stopping:
                env.ledger.set_process_role(p.id, RETIRING)
            if stopping:
                notes.append("they drain while the verify runs")
        return "; ".join(notes) or "nothing to retire"

    def verify(run: Run) -> str:
        env = run.env
        cfg = env.home.config
        stopping = env.ledger.running_processes(role=RETIRING)

        def lane(which: str) -> list[checks.CheckOutcome]:
            if which == "stop":
                stop_together(env, stopping)
                return []
            return checks.release_checks(env.home, cfg.public_url("backend"),
                                         cfg.public_url("frontend"))

        results = concurrently.each(lane, ["checks", "stop"] if stopping else ["checks"])[0]
        if checks.failures(results):
            raise OpsError(f"verification through the public ports failed: "
                           f"{checks.summary(results)}")
        run.ctx["verified_at"] = time.time()
        return checks.summary(results) + " through the public ports"

    switching = Step("switch", "switch traffic to the release (in-flight requests finish "
                               "where they started)", switch)
    retiring = Step("retire", "stop the previous release after in-flight requests (or keep "
                              "it warm)", retire)
    verifying = Step("verify", "verify through the public ports", verify)
    return [switching, verifying, retiring] if verify_first else [switching, retiring, verifying]


@lock.locked_action("retire rolled-back warm processes")
def retire_expired(env: Env) -> list[str]:
    """Stop the rolled-back release's processes whose time to stay warm is up (the guard,
    `up`); returns what was stopped."""
    done = rolled_back.expired(env.ledger.running_processes())
    stop_together(env, done)
    for p in done:
        env.ledger.event(f"stopped {p.service} of rolled-back v{p.release_id} (pid {p.pid}): "
                         "its time to stay warm is up")
    return [f"{p.service} of v{p.release_id}" for p in done]


def stop_together(env: Env, processes: list[ProcessRecord]) -> None:
    """Each waits for its own in-flight requests; waiting one after another only adds up."""
    runs = driver_for(env.home)
    concurrently.each(lambda p: runs.stop_process(env.ledger, p, env.home.config.drain_timeout),
                      processes)


def stop_candidates(env: Env, release_id: int) -> None:
    """After a failure before the switch: stop the release's processes that this attempt
    started (warm ones, kept after they served, stay)."""
    for p in env.ledger.running_processes():
        if p.release_id == release_id and p.role == "candidate":
            driver_for(env.home).stop_process(env.ledger, p, env.home.config.drain_timeout)


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
            if old is None or not driver_for(env.home).alive(old):
                old = _restart_previous(run, service)
            if old is None:
                keep_live.add(service)
                run.event(f"nothing to return {service} traffic to: {release.name} keeps "
                          "serving it", level="error")
                continue
            traffic.route(env.home, service, old.port, f"v{old.release_id}")
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
        if service in retiring or not traffic.switch_running(env.home):
            continue
        serving = [p for p in live_processes(env, service)
                   if p.release_id != release.id and driver_for(env.home).alive(p)]
        # Traffic stays with (or goes back to) what served before; with nothing before, 503.
        # Named, so that the access log keeps counting it for its release.
        traffic.route(env.home, service, serving[0].port if serving else None,
                      f"v{serving[0].release_id}" if serving else None)
    for p in env.ledger.running_processes():
        if p.release_id == release.id and p.service in services and p.service not in keep_live:
            driver_for(env.home).stop_process(env.ledger, p, env.home.config.drain_timeout)
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
        runs = driver_for(env.home)
        proc = runs.start_service(env.home, env.ledger, release=previous, service=service,
                                  env=service_env(env, previous, service))
        proc = runs.wait_healthy(proc, env.home.config.start_timeout)
    except OpsError as exc:
        run.event(f"could not restart {service} of {previous.name}: {exc.message}", "error")
        return None
    return proc
