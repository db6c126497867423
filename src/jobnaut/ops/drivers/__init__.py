"""How services run: `process` (local processes, the default), `compose` (one Docker
Compose project per release, ADR 0008) or `swarm` (one Docker Swarm stack per release on
several nodes, ADR 0012), behind one small interface (`base.Driver`). The traffic switch in
front of them is `traffic`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobnaut.ops.drivers.base import Driver
    from jobnaut.ops.environment import Home

KINDS = ("process", "compose", "swarm")


def driver_for(home: Home) -> Driver:
    """The driver the environment's `jobnaut.toml` names (`[driver] kind`)."""
    if home.config.driver.kind == "swarm":
        from jobnaut.ops.drivers.swarm import SwarmDriver

        return SwarmDriver(home)
    if home.config.driver.kind == "compose":
        from jobnaut.ops.drivers.compose import ComposeDriver

        return ComposeDriver(home)
    from jobnaut.ops.drivers.process import ProcessDriver

    return ProcessDriver()
