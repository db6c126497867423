"""The incident or maintenance banner on every page, read from the status data that the
control plane publishes (`status.json`, beside the public status page). The file is read
again only when it changes; a missing or unreadable file shows no banner."""

from __future__ import annotations

import json
from pathlib import Path


class StatusBanner:
    def __init__(self, path: Path | None):
        self.path = path
        self._seen: tuple[float, int] | None = None
        self._text: str | None = None

    def __call__(self) -> str | None:
        if self.path is None:
            return None
        try:
            stat = self.path.stat()
        except OSError:
            return None
        key = (stat.st_mtime, stat.st_size)
        if key != self._seen:
            try:
                banner = json.loads(self.path.read_text()).get("banner")
            except (OSError, ValueError, AttributeError):
                banner = None
            self._seen, self._text = key, banner if isinstance(banner, str) else None
        return self._text
