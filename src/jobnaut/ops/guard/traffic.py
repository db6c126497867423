"""Per-release traffic figures from the traffic switch's access log.

The seam with the switch is `parse_line`: it reads one line of Caddy's JSON access log
(status, duration, and the `service` and `release` fields the switch appends, see
ops/caddy/config.py). Everything else works on `Hit`s, so another switch needs only a new
parser.

`LogTailer` follows the file like `tail -F`: it keeps its offset, survives rotation (a new
inode) and truncation, and returns whole lines only. `TrafficWindows` keeps the last few
minutes of hits in memory per (service, release).
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from jobnaut.ops.guard.verdict import Figures


@dataclass(frozen=True)
class Hit:
    at: float  # Unix time the switch logged the response
    service: str
    release: str
    status: int
    duration: float  # seconds


def parse_line(line: str) -> Hit | None:
    """One access-log line as a Hit; None for anything else (server messages, a partial
    or foreign line): a bad line must never stop the guard."""
    try:
        entry = json.loads(line)
        service, release = entry.get("service"), entry.get("release")
        if not service or not release:
            return None
        return Hit(float(entry["ts"]), str(service), str(release), int(entry["status"]),
                   float(entry["duration"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class LogTailer:
    """Returns the lines appended to `path` since the last call."""

    def __init__(self, path: Path, *, start_back_bytes: int = 0):
        self.path = path
        self.offset = 0
        self._inode: int | None = None
        self._partial = b""
        self._start_back = start_back_bytes
        self._handle: BinaryIO | None = None

    def read(self) -> list[str]:
        lines: list[str] = []
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return lines
        if self._handle is None or stat.st_ino != self._inode:
            if self._handle is not None:
                lines += self._drain()  # what the rotated file got before it was renamed
                self._handle.close()
            self._open(stat)
        elif stat.st_size < self.offset:  # truncated in place: start again from the top
            self.offset, self._partial = 0, b""
        return lines + self._drain()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _open(self, stat: os.stat_result) -> None:
        self._handle = self.path.open("rb")
        self._inode = stat.st_ino
        self._partial = b""
        # Only the first file is read from part-way back (the recent past, for baselines);
        # a file that replaces it after a rotation is read whole.
        self.offset = max(0, stat.st_size - self._start_back) if self._start_back else 0
        self._start_back = 0
        if self.offset:
            # Resume after the end of the line the offset falls in (reading from one byte
            # before, so that an offset on a line's first byte keeps that line).
            self._handle.seek(self.offset - 1)
            self.offset += len(self._handle.readline()) - 1

    def _drain(self) -> list[str]:
        assert self._handle is not None
        self._handle.seek(self.offset)
        data = self._handle.read()
        self.offset += len(data)
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        return [line.decode(errors="replace") for line in complete if line.strip()]


class TrafficWindows:
    """The last `keep_seconds` of hits per (service, release)."""

    def __init__(self, keep_seconds: float):
        self.keep_seconds = keep_seconds
        self._hits: dict[tuple[str, str], deque[Hit]] = {}
        self.latest = 0.0  # time of the newest hit seen

    def add(self, hits: Iterable[Hit]) -> int:
        added = 0
        for hit in hits:
            self._hits.setdefault((hit.service, hit.release), deque()).append(hit)
            self.latest = max(self.latest, hit.at)
            added += 1
        return added

    def prune(self, now: float) -> None:
        horizon = now - self.keep_seconds
        for key in list(self._hits):
            hits = self._hits[key]
            while hits and hits[0].at < horizon:
                hits.popleft()
            if not hits:
                del self._hits[key]

    def series(self) -> list[tuple[str, str]]:
        return sorted(self._hits)

    def hits(self, service: str, release: str, start: float, end: float) -> list[Hit]:
        """Hits of that release with start <= at < end."""
        return [h for h in self._hits.get((service, release), ()) if start <= h.at < end]

    def figures(self, service: str, release: str, start: float, end: float) -> Figures:
        chosen = self.hits(service, release, start, end)
        return Figures.of([h.status for h in chosen], [h.duration for h in chosen])


def release_rows(windows: TrafficWindows, now: float, span: float) -> list[dict[str, Any]]:
    """The last `span` seconds of each (service, release) with traffic: the ledger's sample
    row (requests, 5xx, p50/p95/p99 in seconds), for the guard, `watch` and operations."""
    rows = []
    for service, release in windows.series():
        figures = windows.figures(service, release, now - span, now + 1)
        if figures.requests:
            rows.append({"service": service, "release": release, "seconds": span,
                         "requests": figures.requests, "errors": figures.errors,
                         "p50": figures.quantile(0.5), "p95": figures.quantile(0.95),
                         "p99": figures.quantile(0.99)})
    return rows


def prometheus(windows: TrafficWindows, now: float, span: float) -> str:
    """The last `span` seconds per (service, release) in Prometheus text format: request
    counts by status class and latency quantiles (a summary)."""
    out = [
        "# HELP jobnaut_release_requests Requests answered in the window, by status class.",
        "# TYPE jobnaut_release_requests gauge",
    ]
    quantiles: list[str] = [
        "# HELP jobnaut_release_latency_seconds Response time quantiles in the window.",
        "# TYPE jobnaut_release_latency_seconds gauge",
    ]
    for service, release in windows.series():
        chosen = windows.hits(service, release, now - span, float("inf"))
        labels = f'service="{service}",release="{release}"'
        classes: dict[str, int] = {}
        for hit in chosen:
            key = f"{hit.status // 100}xx"
            classes[key] = classes.get(key, 0) + 1
        for status_class, count in sorted(classes.items()):
            out.append(f'jobnaut_release_requests{{{labels},class="{status_class}"}} {count}')
        figures = Figures.of([h.status for h in chosen], [h.duration for h in chosen])
        for q in (0.5, 0.95, 0.99):
            value = figures.quantile(q)
            if value is not None:
                quantiles.append(f'jobnaut_release_latency_seconds{{{labels},quantile="{q}"}} '
                                 f"{value:.6f}")
    return "\n".join(out + quantiles) + "\n"
