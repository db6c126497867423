"""What an interrupted operation leaves behind, and clearing it before anyone goes on.

A `jobnaut` killed mid-operation may leave: a child still migrating the database (it is
killed: it would fight the resumed operation for the database's locks, or commit a
migration nobody expects), scratch copies of users' data (dropped), and — when the
operation is abandoned rather than resumed — candidate processes of a release that never
took traffic (stopped) and that release itself, still `pending` (marked `failed`).
"""

from __future__ import annotations

from jobnaut.ops import children, serving
from jobnaut.ops.canary.routing import end_split
from jobnaut.ops.context import Env
from jobnaut.ops.drivers import driver_for, traffic
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import RETIRING, OperationRecord, Release


def record_children(env: Env) -> None:
    """From now on, record this process's children where `status` and a later operation
    look for survivors."""
    children.record_in(children.directory_of(env.home.run))


def survivors(env: Env) -> list[children.ChildRecord]:
    return children.survivors(children.directory_of(env.home.run))


def clear_interrupted(env: Env, operation: OperationRecord) -> list[str]:
    """Before resuming or abandoning `operation`: kill its surviving children, drop the
    scratch copies their dead creators left. Returns what was done, for the timeline."""
    # Imported here: the backup engine pulls in SQLAlchemy and psycopg (~0.5 s), which
    # `status` and every other command that imports this module would otherwise pay.
    from jobnaut.ops.backups import core as backups

    notes = []
    for child in children.kill_survivors(children.directory_of(env.home.run)):
        notes.append(f"killed pid {child.pid} left running by the interrupted operation: "
                     f"{child.command}")
    try:
        removed = backups.remove_orphaned_scratch(env.home, _database_urls(env, operation))
    except OpsError as exc:  # an unreachable server must not block the operator
        notes.append(f"could not clear scratch copies: {exc.message}")
    except OSError as exc:
        notes.append(f"could not clear scratch copies: {exc}")
    else:
        notes += [f"removed scratch copy {name}" for name in removed]
    for note in notes:
        env.ledger.event(note, level="warning", operation_id=operation.id)
    return notes


def clear_abandoned(env: Env, operation: OperationRecord) -> list[str]:
    """After `operation` is given up: stop the candidate processes of its release that
    take no traffic, and mark the release failed if it was never activated."""
    release = _release_of(env, operation)
    if release is None:
        return []
    notes = end_split(env)  # a canary left half-way: its sessions first
    routed = {serving.port_of(route) for route in traffic.routes(env.home).values()} \
        if traffic.switch_running(env.home) else set()
    for p in env.ledger.running_processes():
        if p.release_id != release.id or p.role != "candidate":
            continue
        if p.port in routed:  # it serves users after all (a first deploy's backend)
            notes.append(f"kept {p.service} of {release.name} (pid {p.pid}): it takes traffic")
            continue
        driver_for(env.home).stop_process(env.ledger, p, env.home.config.drain_timeout)
        notes.append(f"stopped candidate {p.service} of {release.name} (pid {p.pid})")
    for p in env.ledger.running_processes(role=RETIRING):  # the verify that stops it never ran
        driver_for(env.home).stop_process(env.ledger, p, env.home.config.drain_timeout)
        notes.append(f"stopped {p.service} of v{p.release_id} (pid {p.pid}), retired by the "
                     f"abandoned {operation.kind}")
    current = env.ledger.release(release.id)
    if current.activated_at is None and current.status == "pending":
        env.ledger.update_release(release.id, status="failed")
        notes.append(f"{release.name} never took traffic: marked failed")
    for note in notes:
        env.ledger.event(note, level="warning", operation_id=operation.id)
    return notes


def _release_of(env: Env, operation: OperationRecord) -> Release | None:
    release_id = operation.context.get("release_id")
    if release_id is None:
        # Killed after recording its release but before saving that in its context.
        return env.ledger.release_of_operation(operation.id)
    try:
        return env.ledger.release(int(release_id))
    except (KeyError, ValueError):
        return None


def _database_urls(env: Env, operation: OperationRecord) -> list[str]:
    """The databases the operation may have worked on: the current configuration's, its
    release's and the configuration it was deploying."""
    config_ids = {env.current_config_id()}
    release = _release_of(env, operation)
    if release is not None:
        config_ids.add(release.config_id)
    if operation.context.get("config_id"):
        config_ids.add(int(operation.context["config_id"]))
    urls = []
    for config_id in config_ids:
        url = env.config_of(config_id).get("DATABASE_URL")
        if url and url not in urls:
            urls.append(url)
    return urls

