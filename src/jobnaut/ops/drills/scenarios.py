"""The built-in scenarios, one per section of the plan. Each injects its fault on the
staging environment, lets detection happen (the guard, a check, or the drill's own
monitor of the synthetic load), runs the plan's procedure through the real `jobnaut`
command, and returns what happened when."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from datetime import datetime

from cryptography.fernet import Fernet

from jobnaut.ops import lock
from jobnaut.ops.backups import core as backups
from jobnaut.ops.backups import store as backup_store
from jobnaut.ops.drills import faults
from jobnaut.ops.drills.harness import Drill, DrillFailed, Outcome
from jobnaut.ops.guard import process as guard_process

LOAD_DURING_FAULT = 3.0  # seconds of writes on a release before it is rolled back
STATUS_PROBE_EVERY = 3.0  # seconds between `jobnaut status` probes of the crash scenario


def code(d: Drill) -> list[Outcome]:
    return [_faulty_release(d, "code", _roll_back_code)]


def emergency(d: Drill) -> list[Outcome]:
    return [_faulty_release(d, "emergency", _emergency_procedure)]


def _faulty_release(d: Drill, case: str, procedure: Callable[[Drill], None]) -> Outcome:
    sha = d.commit_fault("notes-broken", faults.NOTES_BROKEN)
    d.phase("deploy a release that passes its checks but breaks notes", sha[:12])
    d.jobnaut("deploy", sha, "--reason", f"drill {case}: passes checks, fails under traffic")
    faulty = d.env.require_active().id
    injected = d.phase("faulty release takes traffic", f"v{faulty}")
    if case == "code" and _guard_watching(d):
        # The guard (ADR 0006) is the detector and the procedure: wait for its rollback.
        d.wait_for("the guard's rollback", lambda: d.env.require_active().id != faulty, 90)
        detected = _guard_started(d, after=injected) or time.time()
        d.phase("the guard rolled back", f"v{d.env.require_active().id} serving")
    else:
        detected = d.wait_users_hurt(injected)
        d.phase("detected: users see failures")
        procedure(d)
    recovered = d.phase("procedure done", f"v{d.env.require_active().id} serving")
    restored = d.wait_served(injected)
    return Outcome(case, injected, detected,
                   max(restored, _if_no_failures(d, injected, recovered)))


def _roll_back_code(d: Drill) -> None:
    d.jobnaut("rollback", "code", "--yes")


def _emergency_procedure(d: Drill) -> None:
    d.jobnaut("rollback", "emergency", "--reason", "drill: a release broke notes", "--yes")
    d.jobnaut("freeze", "--lift", "--reason", "drill over: the faulty release is rolled back")


def migration(d: Drill) -> list[Outcome]:
    base = d.env.require_active().schema_revision or "base"
    # 1. A downgrade that destroys a column holding data: accepted with --yes, and it
    #    keeps every row users wrote since the deploy.
    sha = d.commit_fault("migration-downgrade", {}, faults.migration_file(
        "d7a1", base, faults.DESTRUCTIVE_DOWNGRADE))
    d.phase("deploy a migration whose downgrade drops a filled column", sha[:12])
    d.jobnaut("deploy", sha, "--reason", "drill migration: destructive downgrade")
    injected = d.phase("migrated release serving")
    time.sleep(LOAD_DURING_FAULT)  # users write on the new schema
    detected = d.phase("decision: roll the migration back")
    d.jobnaut("rollback", "migration", "--yes")
    recovered = d.phase("downgraded; previous release serving")
    downgrade = Outcome("migration: downgrade", injected, detected,
                        max(d.wait_served(injected), _if_no_failures(d, injected, recovered)))
    # 2. No downgrade at all: the pre-deploy backup is restored; the writes since are
    #    discarded, and exactly as many as the restore announced.
    sha = d.commit_fault("migration-restore", {}, faults.migration_file(
        "d7a2", base, faults.NO_DOWNGRADE))
    d.phase("deploy a migration with no downgrade", sha[:12])
    d.jobnaut("deploy", sha, "--reason", "drill migration: no downgrade, so a restore")
    injected = d.phase("migrated release serving")
    time.sleep(LOAD_DURING_FAULT)
    detected = d.phase("decision: restore the pre-deploy backup")
    result = d.json("rollback", "migration", "--restore-db", "--yes")
    if result.get("status") != "succeeded":
        raise DrillFailed(f"the restore failed: {result.get('error') or result}")
    recovered = d.phase("restored; previous release serving")
    announced = _announced_saved_rows(d, int(result["operation"]))
    restore = Outcome("migration: restore", injected, detected,
                      max(d.wait_served(injected), _if_no_failures(d, injected, recovered)),
                      announced_rows=announced,
                      detail=f"the restore announced {announced} saved-job rows discarded")
    return [downgrade, restore]


def _announced_saved_rows(d: Drill, operation_id: int) -> int:
    """The saved-job rows the restore's report said it discards (inserted or changed since
    the pre-deploy backup): the only table the synthetic load writes after signing up."""
    discarded = d.env.ledger.operation(operation_id).context.get("discarded") or {}
    saved = discarded.get("saved_jobs") or {}
    return int(saved.get("inserted", 0)) + int(saved.get("updated", 0))


def config(d: Drill) -> list[Outcome]:
    # 1. A broken integration URL: the Appendix C check of the job feed catches it.
    d.phase("set a broken job-feed URL")
    d.jobnaut("config", "set", "JSEARCH_API_URL=http://127.0.0.1:9/broken")
    broken = d.env.require_active().id
    injected = d.phase("broken configuration serving")
    if _guard_watching(d):
        # The guard's probes of the integrations (ADR 0006) find it and roll the
        # configuration back; a second rollback by hand would go further into the past.
        d.wait_for("the guard's configuration rollback", lambda: d.env.require_active().id
                   != broken and lock.holder(d.env.home.lock_path) is None, 90)
        detected = _guard_started(d, after=injected) or time.time()
        d.phase("the guard rolled the configuration back")
    else:
        d.wait_for("`jobnaut health` failing", lambda: d.jobnaut("health", check=False)
                   .returncode != 0, 60, every=0.5)
        detected = d.phase("detected: health check of the job feed fails")
        d.jobnaut("rollback", "config", "--yes")
    recovered = d.phase("previous configuration serving")
    if d.jobnaut("health", check=False).returncode != 0:
        raise DrillFailed("health still fails after the configuration rollback")
    broken_url = Outcome("config: integration URL", injected, detected,
                         max(d.wait_served(injected), recovered))
    # 2. An ENCRYPTION_KEY that cannot read the data: must be refused before traffic.
    before = d.env.require_active().id
    injected = d.phase("set an ENCRYPTION_KEY that cannot read the data")
    # The key is generated here and never printed: it reads nothing, so it guards nothing.
    refused = d.jobnaut("config", "set", f"ENCRYPTION_KEY={Fernet.generate_key().decode()}",
                        check=False)
    detected = d.phase("refused" if refused.returncode else "accepted")
    key = Outcome("config: encryption key", injected, detected, detected,
                  caught=refused.returncode != 0 and d.env.require_active().id == before)
    if not key.caught:  # it went live: roll it back like any bad configuration
        d.jobnaut("rollback", "config", "--yes")
        key.recovered = max(d.wait_served(injected), d.phase("previous configuration serving"))
        key.detail = "the unreadable key was NOT refused"
    return [broken_url, key]


def crash(d: Drill) -> list[Outcome]:
    state = d.json("status", check=False)
    pid = state["services"]["backend"]["pid"]
    if not pid:
        raise DrillFailed("no live backend process to kill")
    os.kill(int(pid), signal.SIGKILL)
    injected = d.phase("backend killed", f"pid {pid}")
    if _guard_watching(d):
        d.wait_for("the guard's restart", lambda: _backend_pid(d) not in (None, pid), 60)
        detected = d.phase("the guard restarted the backend")
    else:
        # Whichever notices first: users' failed requests, or `status` (a monitor's probe,
        # every few seconds: one costs a command start, the load is watched in between).
        probed = [injected]

        def noticed() -> bool:
            if d.failures_since(injected) >= 2:
                return True
            if time.time() - probed[0] < STATUS_PROBE_EVERY:
                return False
            probed[0] = time.time()
            return bool(d.json("status", check=False).get("problems"))

        d.wait_for("the dead backend noticed", noticed, 60)
        detected = d.phase("detected: the backend is dead")
        d.jobnaut("up")
    recovered = d.phase("backend serving", f"pid {_backend_pid(d)}")
    return [Outcome("crash", injected, detected, max(d.wait_served(injected), recovered))]


def backup(d: Drill) -> list[Outcome]:
    made = d.json("backup", "create")
    corrupted = str(made["id"])
    _corrupt(d, corrupted)
    injected = d.phase("latest backup corrupted", corrupted)
    verify = d.jobnaut("backup", "verify", corrupted, check=False)
    detected = d.phase("verify " + ("caught it" if verify.returncode else "MISSED it"))
    good = _last_good_backup(d, corrupted)
    started = time.time()
    with backups.scratch_target(_database_url(d)) as target:
        backups.restore_into(d.env.home, good, target)
    rto = time.time() - started
    recovered = d.phase("last good backup restored beside the live database",
                        f"{good} in {rto:.1f} s")
    return [Outcome("backup", injected, detected, recovered, caught=verify.returncode != 0,
                    rto=rto, detail=f"corrupted {corrupted}; restored {good}")]


def _corrupt(d: Drill, backup_id: str) -> None:
    """Flip bytes in the middle of the dump (of its largest file, for a directory dump)."""
    path = backup_store.dump_path(d.env.home, backup_store.get_backup(d.env.home, backup_id))
    if path.is_dir():
        path = max((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    os.chmod(path, 0o600)
    with path.open("r+b") as dump:
        dump.seek(path.stat().st_size // 2)
        chunk = dump.read(64)
        dump.seek(path.stat().st_size // 2)
        dump.write(bytes(b ^ 0xFF for b in chunk))


def _last_good_backup(d: Drill, corrupted: str) -> str:
    for manifest in backup_store.list_backups(d.env.home):
        if manifest.id == corrupted:
            continue
        if manifest.verified_at or d.jobnaut("backup", "verify", manifest.id,
                                             check=False).returncode == 0:
            return manifest.id
    raise DrillFailed("no good backup to restore: the environment cannot recover its data")


def _database_url(d: Drill) -> str:
    return d.env.config_of(d.env.current_config_id())["DATABASE_URL"]


def _backend_pid(d: Drill) -> int | None:
    pid = d.json("status", check=False).get("services", {}).get("backend", {}).get("pid")
    return int(pid) if pid else None


def _guard_watching(d: Drill) -> bool:
    return d.env.home.config.guard.enabled and guard_process.running(d.env.home)


def _guard_started(d: Drill, *, after: float) -> float | None:
    """When the guard's rollback operation started (its detection), from the ledger."""
    for op in d.env.ledger.operations(limit=5):
        started = datetime.fromisoformat(op.started_at).timestamp()
        if ("rollback" in op.kind or op.args.get("rollback")) and started >= after:
            return started
    return None


def _if_no_failures(d: Drill, since: float, recovered: float) -> float:
    """Users saw no failure: recovery is the end of the procedure."""
    return recovered if d.last_failure(since) is None else 0.0


# How each scenario of the catalogue runs.
RUNS: dict[str, Callable[[Drill], list[Outcome]]] = {
    "code": code,
    "migration": migration,
    "config": config,
    "emergency": emergency,
    "crash": crash,
    "backup": backup,
}
