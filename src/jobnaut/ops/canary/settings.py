"""The `[deploy]` section of jobnaut.toml: the canary steps and how long each lasts.

Checked in one place when the environment is read: a bad value refuses every command,
before anything changes, with what to write instead.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

KNOWN = ("canary", "canary_step_seconds", "canary_max_step_seconds")


@dataclass(frozen=True)
class DeploySettings:
    # Percentages of new sessions sent to the new release, step by step, ending with 100
    # (the promotion). Empty: the switch is all at once.
    canary: tuple[int, ...] = ()
    # Seconds each step below 100 % lasts while the new release is judged.
    canary_step_seconds: float = 60.0
    # A step with too few requests to judge waits for more, up to this many seconds.
    canary_max_step_seconds: float = 180.0

    @property
    def canary_steps(self) -> tuple[int, ...]:
        """The partial steps (below 100 %); the last step is the switch itself."""
        return tuple(p for p in self.canary if p < 100)


def parse_deploy(section: dict[str, Any]) -> DeploySettings:
    unknown = sorted(set(section) - set(KNOWN))
    if unknown:
        raise ValueError(f"[deploy] unknown setting(s): {', '.join(unknown)} "
                         f"(known: {', '.join(KNOWN)})")
    steps = _steps(section.get("canary", []))
    seconds = _seconds(section, "canary_step_seconds", DeploySettings.canary_step_seconds)
    longest = _seconds(section, "canary_max_step_seconds",
                       max(DeploySettings.canary_max_step_seconds, seconds))
    if longest < seconds:
        raise ValueError("[deploy] canary_max_step_seconds must be at least "
                         "canary_step_seconds")
    return DeploySettings(canary=steps, canary_step_seconds=seconds,
                          canary_max_step_seconds=longest)


def _steps(raw: Any) -> tuple[int, ...]:
    example = "for example canary = [5, 25, 100]"
    if not isinstance(raw, list) or not all(isinstance(p, int) and not isinstance(p, bool)
                                            for p in raw):
        raise ValueError(f"[deploy] canary must be a list of whole percentages, {example}")
    if not raw:
        return ()
    if any(not 1 <= p <= 100 for p in raw):
        raise ValueError(f"[deploy] canary percentages must be between 1 and 100, {example}")
    if any(b <= a for a, b in itertools.pairwise(raw)):
        raise ValueError(f"[deploy] canary percentages must grow step by step, {example}")
    if raw[-1] != 100:
        raise ValueError(f"[deploy] canary must end with 100 (the promotion), {example}")
    if len(raw) == 1:
        raise ValueError("[deploy] canary = [100] is no canary: leave it out for a switch "
                         f"all at once, or add smaller steps, {example}")
    return tuple(raw)


def _seconds(section: dict[str, Any], name: str, default: float) -> float:
    raw = section.get(name, default)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
        raise ValueError(f"[deploy] {name} must be a positive number of seconds")
    return float(raw)
