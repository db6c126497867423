"""`drill schedule --monthly`: a systemd service and timer that run the drills on the
first Monday of each month (installed as root, else printed for the operator)."""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

UNIT_DIR = Path("/etc/systemd/system")
UNIT = "jobnaut-drill"


@dataclass(frozen=True)
class Schedule:
    files: dict[Path, str]
    enable: list[str]  # the command that turns it on


def monthly(home: Path, scenarios: list[str]) -> Schedule:
    # One drill after another, each recorded; a failing one does not stop the rest.
    command = " ; ".join(
        shlex.join([sys.executable, "-m", "jobnaut", "--home", str(home), "drill", "run", s])
        for s in scenarios)
    service = f"""[Unit]
Description=JobNaut monthly rollback drills on the staging copy {home}
After=network-online.target

[Service]
Type=oneshot
User={_owner(home)}
ExecStart=/bin/sh -c {shlex.quote(command)}
"""
    timer = """[Unit]
Description=JobNaut monthly rollback drills (the plan's "monthly in staging")

[Timer]
OnCalendar=Mon *-*-01..07 10:00:00
Persistent=true

[Install]
WantedBy=timers.target
"""
    return Schedule({UNIT_DIR / f"{UNIT}.service": service, UNIT_DIR / f"{UNIT}.timer": timer},
                    ["systemctl", "daemon-reload", "&&", "systemctl", "enable", "--now",
                     f"{UNIT}.timer"])


def _owner(home: Path) -> str:
    import pwd

    try:
        return pwd.getpwuid(home.stat().st_uid).pw_name
    except (OSError, KeyError):
        return "root"


def can_install() -> bool:
    return os.geteuid() == 0 and UNIT_DIR.is_dir()


def install(schedule: Schedule) -> list[Path]:
    import subprocess

    for path, text in schedule.files.items():
        path.write_text(text)
    subprocess.run(["systemctl", "daemon-reload"], check=False, capture_output=True)
    subprocess.run(["systemctl", "enable", "--now", f"{UNIT}.timer"], check=False,
                   capture_output=True)
    return list(schedule.files)
