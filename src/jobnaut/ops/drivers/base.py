"""The interface every driver implements: how a release's services are built, run,
addressed, stopped and read. The actions speak only to this; the traffic switch
(`drivers.traffic`) is shared and routes to whatever address a driver gives."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from jobnaut.ops.environment import Home
from jobnaut.ops.ledger import Ledger, ProcessRecord, Release


class Driver(Protocol):
    kind: str

    def prepare(self, home: Home, commit: str) -> str:
        """Make the release's artifact (files and virtualenv; an image) unless it exists;
        says what it did. The host build is always made: schema commands run from it."""
        ...

    def discard(self, home: Home, commit: str) -> None:
        """Remove the commit's artifact (pruning); `prepare` makes it again if needed."""
        ...

    def start_service(self, home: Home, ledger: Ledger, *, release: Release, service: str,
                      env: Mapping[str, str], role: str = "candidate") -> ProcessRecord:
        """Start one service of a prepared release on a private loopback port; recorded
        in the ledger before it answers."""
        ...

    def wait_healthy(self, process: ProcessRecord, timeout: float) -> ProcessRecord:
        """Wait until it answers /health (raises OpsError with its last log lines if it
        dies); returns the record that answers (it may have moved to another port)."""
        ...

    def address(self, process: ProcessRecord) -> str:
        """The URL the control plane and the switch reach it at."""
        ...

    def alive(self, process: ProcessRecord) -> bool: ...

    def stop_process(self, ledger: Ledger, process: ProcessRecord, grace: float) -> None:
        """Stop after in-flight requests (at most `grace` seconds), record it stopped."""
        ...

    def ensure_database(self, home: Home, database_url: str) -> str | None:
        """Start the database the driver manages (a db service) unless it runs; None when
        it manages none (an external server, SQLite in the home)."""
        ...

    def stop_database(self, home: Home) -> bool:
        """Stop the managed database (its data stays); False when there is none."""
        ...

    def log_file(self, home: Home, release_id: int, service: str) -> Path:
        """The service's log for the release (what `jobnaut logs` shows)."""
        ...
