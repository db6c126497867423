"""The canary in progress, as the deploy records it in the ledger's state for `status`,
`watch` and the dashboard to show."""

from __future__ import annotations

import json
from typing import Any

from jobnaut.ops.context import Env

STATE_KEY = "canary"


def text(state: dict[str, Any] | None) -> str | None:
    """The canary as one line for `status` and `watch`; None when none runs."""
    if not state:
        return None
    return (f"canary {state['release']} at {state['percent']} % of new sessions (step "
            f"{state.get('step', '?')} of {len(state['steps'])}, {state['seconds']:.0f} s; "
            f"others on {state['previous']}): {state['detail']}")


def current(env: Env) -> dict[str, Any] | None:
    raw = env.ledger.get_state(STATE_KEY)
    return json.loads(raw) if raw else None
