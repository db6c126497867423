"""Configuration snapshots: set, unset, diff, and choosing what a config rollback restores."""

from __future__ import annotations

from jobnaut.config import redact, unknown_setting
from jobnaut.ops.context import Env
from jobnaut.ops.errors import OpsError
from jobnaut.ops.history import previous_good


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE pairs of known settings. An unknown key is refused: it would be passed to
    no service, and a typo would go unnoticed."""
    changes = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not key.strip().replace("_", "").isalnum():
            raise OpsError(f"expected KEY=VALUE, got {pair.split('=')[0]!r}…", exit_code=2)
        name = key.strip().upper()
        problem = unknown_setting(name)
        if problem:
            raise OpsError(problem, hint="the settings are listed by `jobnaut config check`",
                           exit_code=2)
        changes[name] = value
    return changes


def changed_config(env: Env, *, set_values: dict[str, str] | None = None,
                   unset: list[str] | None = None) -> tuple[int, str]:
    """Store the active configuration with the change applied; returns (config_id, reason)."""
    config = env.config_of(env.current_config_id())
    for key in unset or []:
        if key not in config:
            raise OpsError(f"{key} is not set", exit_code=2)
        del config[key]
    config.update(set_values or {})
    keys = sorted([*(set_values or {}), *(unset or [])])
    reason = ("config set " if set_values else "config unset ") + ", ".join(keys)
    return env.ledger.add_config(env.cipher.seal(config)), reason


def rollback_target_config(env: Env, to: str | None) -> tuple[int, str]:
    active = env.require_active()
    target = env.find_release(to) if to else previous_good(env, active)
    if env.config_of(target.config_id) == env.config_of(active.config_id):
        raise OpsError(f"{target.name}'s configuration is the same as the active one",
                       hint="give another release with --to", exit_code=2)
    return target.config_id, f"rollback config to {target.name}'s snapshot"


def diff(env: Env, a: str, b: str, reveal: bool = False) -> list[dict[str, str]]:
    left = env.release_config(env.find_release(a))
    right = env.release_config(env.find_release(b))
    rows: list[dict[str, str]] = []
    for key in sorted(set(left) | set(right)):
        before, after = left.get(key), right.get(key)
        if before == after:
            continue
        change = "added" if before is None else "removed" if after is None else "changed"
        rows.append({"key": key, "change": change, a: _shown(key, before, reveal),
                     b: _shown(key, after, reveal)})
    return rows


def _shown(key: str, value: str | None, reveal: bool) -> str:
    if value is None:
        return "(unset)"
    return value if reveal else redact(key, value)
