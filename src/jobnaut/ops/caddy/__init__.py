"""The Caddy traffic switch: one Caddy per environment in front of its releases."""

from jobnaut.ops.caddy.binary import caddy_executable, check_caddy
from jobnaut.ops.caddy.config import (
           MIB,
           Layout,
           SwitchSettings,
           Timeouts,
           TlsSettings,
           build_config,
)
from jobnaut.ops.caddy.switch import CaddySwitch

__all__ = ["MIB", "CaddySwitch", "Layout", "SwitchSettings", "Timeouts", "TlsSettings",
           "build_config", "caddy_executable", "check_caddy"]
