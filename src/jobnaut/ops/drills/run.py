"""`jobnaut drill run SCENARIO`: one drill from start to record.

While it runs, the ledger's `drill` state marks the environment as drilling: incidents
opened meanwhile are drills (team-only notices, no outage on the status page). The drill
always cleans up after itself (drill incidents resolved, a freeze it caused lifted) and
always records itself, failed or not."""

from __future__ import annotations

import json
import time
from typing import Any

from jobnaut.ops import staging
from jobnaut.ops.comms import incidents
from jobnaut.ops.comms.store import is_drill
from jobnaut.ops.context import Env
from jobnaut.ops.drills import measure
from jobnaut.ops.drills.catalogue import scenario
from jobnaut.ops.drills.harness import Drill, Outcome
from jobnaut.ops.drills.load import LoadResult, SyntheticLoad, missing_writes
from jobnaut.ops.drills.scenarios import RUNS
from jobnaut.ops.drills.settings import load_targets
from jobnaut.ops.drills.store import DrillRecord, DrillStore
from jobnaut.ops.errors import OpsError

DRILL_STATE = incidents.DRILL_STATE
BASELINE_SECONDS = 3.0  # load before the fault: what "normal" looks like in the chart


def check_target(env: Env, *, allow_production: bool) -> None:
    """A drill breaks things on purpose: only on a staging copy, unless told otherwise."""
    if staging.is_staging(env) or allow_production:
        return
    raise OpsError(f"{env.home.root} ({env.home.config.name}) is not a staging environment: "
                   "a drill injects real faults",
                   hint="`jobnaut staging create --from THIS_HOME` makes a copy to drill on; "
                        "--allow-production drills here anyway")


def run(env: Env, name: str, *, allow_production: bool = False) -> DrillRecord:
    chosen = scenario(name)
    check_target(env, allow_production=allow_production)
    env.require_active()
    if env.ledger.get_state(DRILL_STATE):
        raise OpsError("a drill is already running on this environment",
                       hint="wait for it; `jobnaut drill history` lists drills")
    targets = load_targets(env.home)
    store = DrillStore(env.home.ledger_path)
    drill_id = store.start(chosen.name)
    env.ledger.set_state(DRILL_STATE, json.dumps({"id": drill_id, "scenario": chosen.name}))
    env.ledger.event(f"drill #{drill_id} ({chosen.name}) started: faults are injected on "
                     "purpose; incidents are drills")
    api = env.home.config.public_url("backend")
    load = SyntheticLoad(api, users=targets.load_users)
    drill = Drill(env, load)
    outcomes: list[Outcome] = []
    error: str | None = None
    result = LoadResult([], {}, [])
    try:
        load.start()
        drill.phase("baseline load")
        time.sleep(BASELINE_SECONDS)
        outcomes = RUNS[chosen.name](drill)
    except OpsError as exc:
        error = exc.message
    finally:
        result = load.stop()
        drill.phase("load stopped")
        _clean_up(drill, drill_id)
    figures = measure.metrics(outcomes, result, _missing(api, result, error))
    verdicts = measure.verdicts(figures, targets) if error is None else []
    status = "error" if error else ("passed" if all(v["passed"] for v in verdicts)
                                    else "failed")
    store.finish(drill_id, status=status, metrics=figures, verdicts=verdicts,
                 phases=drill.phases, samples=[s.as_json() for s in result.samples],
                 error=error)
    env.ledger.event(f"drill #{drill_id} ({chosen.name}) {status}: MTTR "
                     f"{figures['mttr_seconds']} s, {figures['failed_requests']} failed "
                     f"requests, RPO {figures['rpo_rows']} rows",
                     level="info" if status == "passed" else "warning")
    return store.get(drill_id)


def _missing(api: str, result: LoadResult, error: str | None) -> list[Any]:
    try:
        return missing_writes(api, result)
    except Exception:  # the service is not back: every acknowledged write counts as lost
        if error is None:
            raise
        return list(result.writes.values())


def _clean_up(drill: Drill, drill_id: int) -> None:
    """Resolve the drill's incidents and lift a freeze it left, then end the drill mark."""
    env = drill.env
    try:
        for incident in incidents.book(env).incidents(open_only=True):
            if is_drill(incident):
                incidents.resolve(env, incident.id, author="jobnaut drill",
                                  root_cause=f"drill #{drill_id}: injected on purpose")
        freeze = env.ledger.get_state("deploy_freeze")
        if freeze:
            drill.jobnaut("freeze", "--lift", "--reason", f"drill #{drill_id} over",
                          check=False)
    finally:
        env.ledger.set_state(DRILL_STATE, None)
        env.ledger.event(f"drill #{drill_id} over")
