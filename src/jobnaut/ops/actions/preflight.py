"""Checks a release's configuration passes before anything starts (the plan's Appendix B)."""

from __future__ import annotations

from jobnaut.config import check_variables
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError


def preflight_config(env: Env, config_id: int) -> str:
    results = check_variables(env.config_of(config_id))
    failing = [f"{r.name}: {r.reason}" for r in results if not r.ok]
    if failing:
        raise OpsError("configuration checklist fails: " + "; ".join(failing),
                       hint="`jobnaut config check` shows every item")
    return f"{len(results)} configuration items valid"
