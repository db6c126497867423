"""How services run: `process` (local processes, the default) or `compose` (one Docker
Compose project per release, ADR 0008), behind one small interface (`base.Driver`). The
traffic switch in front of both is `traffic`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobnaut.ops.drivers.base import Driver
    from jobnaut.ops.environment import Home

KINDS = ("process", "compose")


def driver_for(home: Home) -> Driver:
    """The driver the environment's `jobnaut.toml` names (`[driver] kind`)."""
    if home.config.driver.kind == "compose":
        from jobnaut.ops.drivers.compose import ComposeDriver

        return ComposeDriver(home)
    from jobnaut.ops.drivers.process import ProcessDriver

    return ProcessDriver()
