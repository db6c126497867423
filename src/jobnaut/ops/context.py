"""What every action works with: the home, its ledger and its snapshot cipher."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path

from jobnaut.ops.environment import Home, load_home
from jobnaut.ops.errors import OpsError
from jobnaut.ops.ledger import Ledger, Release
from jobnaut.ops.secrets import SnapshotCipher


@dataclass
class Env:
    home: Home
    ledger: Ledger
    cipher: SnapshotCipher

    @classmethod
    def open(cls, root: Path) -> Env:
        home = load_home(root)
        return cls(home=home, ledger=Ledger(home.ledger_path), cipher=SnapshotCipher(home.key_path))

    def config_of(self, config_id: int) -> dict[str, str]:
        return self.cipher.open(self.ledger.config(config_id))

    def release_config(self, release: Release) -> dict[str, str]:
        return self.config_of(release.config_id)

    def current_config_id(self) -> int:
        """The configuration the next deploy uses: the active release's, else the initial one."""
        active = self.ledger.active_release()
        if active is not None:
            return active.config_id
        initial = self.ledger.get_state("initial_config")
        if initial is None:
            raise OpsError("this environment has no configuration; run `jobnaut init`")
        return int(initial)

    def require_active(self) -> Release:
        active = self.ledger.active_release()
        if active is None:
            raise OpsError("nothing is deployed yet", hint="run `jobnaut deploy`")
        return active

    def find_release(self, name: str) -> Release:
        number = name.lower().removeprefix("v")
        if not number.isdigit():
            raise OpsError(f"{name!r} is not a release id (expected v3 or 3)", exit_code=2)
        try:
            return self.ledger.release(int(number))
        except KeyError:
            raise OpsError(f"release {name} does not exist",
                           hint="`jobnaut releases` lists them") from None


def operator_name() -> str:
    """Who runs this command, as the ledger records it (the guard records itself as "guard")."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
