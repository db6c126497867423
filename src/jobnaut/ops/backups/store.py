"""Backups on disk: `home.backups/<id>/{dump, manifest.json, verified.json}`.

A backup is written into `<id>.partial/` and renamed to `<id>` only once its dump, size,
checksum and manifest are on disk, so a directory named like an id with a readable
manifest is a complete backup; anything else (`.partial`, `.deleting`, a directory without
a manifest) is never listed. Creating backups takes an flock on `backups/.lock`, so a
`.partial` found while holding it was left by a creator that died.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jobnaut.ops.environment import Home
from jobnaut.ops.errors import OpsError

KINDS = ("pre-deploy", "manual", "safety", "pre-reset", "pre-downgrade")
# Taken just before something destructive: kept for the retention window whatever `keep` says.
RETAINED_KINDS = frozenset({"safety", "pre-reset", "pre-downgrade"})
MANIFEST = "manifest.json"
VERIFIED = "verified.json"
PARTIAL, DELETING = ".partial", ".deleting"
ID_PATTERN = re.compile(r"\d{8}T\d{6}Z(-[a-z0-9]+)+")


@dataclass(frozen=True)
class Manifest:
    id: str
    environment: str
    kind: str
    release: str | None
    schema_revision: str | None
    created_at: str
    engine: str  # "sqlite" | "postgresql"
    format: str  # "sqlite" | "custom" | "directory"
    file: str
    size: int
    sha256: str
    tables: dict[str, int]
    wal_lsn: str | None
    verified_at: str | None = None  # from verified.json; never written into manifest.json

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], verified_at: str | None = None) -> Manifest:
        names = {f.name for f in dataclasses.fields(cls)} - {"verified_at"}
        return cls(**{k: v for k, v in data.items() if k in names}, verified_at=verified_at)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """The failed checks in one line ("" when every check passed)."""
        return "; ".join(f"{name}: {detail}" for name, ok, detail in self.checks if not ok)

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [{"name": n, "ok": ok, "detail": d}
                                          for n, ok, d in self.checks]}


# --- files ---------------------------------------------------------------------------------


def fsync_path(path: Path) -> None:
    """fsync a file, or a directory (its entries) — what makes a rename durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            fsync_path(child)
    fsync_path(path)


def make_private(path: Path) -> None:
    """Backups hold every user's data: only the owner may read them."""
    os.chmod(path, 0o700 if path.is_dir() else 0o600)
    if path.is_dir():
        for child in path.rglob("*"):
            os.chmod(child, 0o700 if child.is_dir() else 0o600)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def checksum(path: Path) -> tuple[int, str]:
    """(size, sha256) of a dump file; of a dump directory: the total size and the sha256 of
    its sorted listing `<sha256>  <relative path>` of every file."""
    if path.is_file():
        return path.stat().st_size, _file_sha256(path)
    if not path.is_dir():
        raise FileNotFoundError(path)
    files = sorted(p for p in path.rglob("*") if p.is_file())
    listing = "".join(f"{_file_sha256(p)}  {p.relative_to(path).as_posix()}\n" for p in files)
    return sum(p.stat().st_size for p in files), hashlib.sha256(listing.encode()).hexdigest()


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Temp file + fsync + rename + fsync of the directory: never a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as out:
        json.dump(data, out, indent=2, sort_keys=True)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    fsync_path(path.parent)


# --- reading -------------------------------------------------------------------------------


def backup_dir(home: Home, backup_id: str) -> Path:
    return home.backups / backup_id


def dump_path(home: Home, manifest: Manifest) -> Path:
    return backup_dir(home, manifest.id) / manifest.file


def _read(directory: Path) -> Manifest | None:
    try:
        data = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    verified_at = None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        verified_at = json.loads((directory / VERIFIED).read_text()).get("verified_at")
    try:
        manifest = Manifest.from_json(data, verified_at)
    except TypeError:
        return None
    return manifest if manifest.id == directory.name else None


def list_backups(home: Home) -> list[Manifest]:
    """Complete backups, newest first."""
    if not home.backups.is_dir():
        return []
    found = []
    for entry in home.backups.iterdir():
        if ID_PATTERN.fullmatch(entry.name) and entry.is_dir():
            manifest = _read(entry)
            if manifest is not None:
                found.append(manifest)
    return sorted(found, key=lambda m: (m.created_at, m.id), reverse=True)


def get_backup(home: Home, backup_id: str) -> Manifest:
    if not ID_PATTERN.fullmatch(backup_id):
        raise OpsError(f"{backup_id!r} is not a backup id (like 20261128T221500Z-manual)",
                       exit_code=2)
    directory = backup_dir(home, backup_id)
    partial = directory.with_name(backup_id + PARTIAL)
    if not directory.is_dir():
        if partial.exists():
            raise OpsError(f"backup {backup_id} is incomplete (its creation was interrupted "
                           "or is still running)", hint="`jobnaut backup list` lists complete ones")
        raise OpsError(f"backup {backup_id} does not exist",
                       hint="`jobnaut backup list` lists them")
    manifest = _read(directory)
    if manifest is None:
        raise OpsError(f"backup {backup_id} is incomplete: it has no readable {MANIFEST}",
                       hint="it cannot be trusted; use another backup")
    return manifest


def mark_verified(home: Home, backup_id: str, checks: list[tuple[str, bool, str]]) -> str:
    verified_at = datetime.now(UTC).isoformat()
    write_json(backup_dir(home, backup_id) / VERIFIED, {
        "verified_at": verified_at,
        "checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in checks]})
    return verified_at


def clear_verified(home: Home, backup_id: str) -> None:
    """A backup that fails verification is no longer verified, whatever it once was."""
    (backup_dir(home, backup_id) / VERIFIED).unlink(missing_ok=True)


# --- creating ------------------------------------------------------------------------------


@contextlib.contextmanager
def creating(home: Home, *, kind: str, release: str | None) -> Iterator[tuple[str, Path]]:
    """Reserve a new id and its `<id>.partial/` directory, under the backups lock. The body
    writes the dump and the manifest there; on success the directory becomes `<id>`, on any
    failure it is removed."""
    if kind not in KINDS:
        raise OpsError(f"unknown backup kind {kind!r} (one of {', '.join(KINDS)})", exit_code=2)
    with _backups_lock(home):
        _clean_leftovers(home)
        backup_id = _new_id(home, kind, release)
        partial = home.backups / (backup_id + PARTIAL)
        partial.mkdir(mode=0o700)
        try:
            yield backup_id, partial
            os.rename(partial, backup_dir(home, backup_id))
            fsync_path(home.backups)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise


@contextlib.contextmanager
def _backups_lock(home: Home) -> Iterator[None]:
    home.backups.mkdir(parents=True, exist_ok=True)
    os.chmod(home.backups, 0o700)
    with (home.backups / ".lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


def _new_id(home: Home, kind: str, release: str | None) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = f"{stamp}-{kind.replace('-', '')}"
    tag = re.sub(r"[^a-z0-9]", "", (release or "").lower())
    if tag:
        base += f"-{tag}"
    candidate, n = base, 1
    while any(home.backups.joinpath(candidate + suffix).exists()
              for suffix in ("", PARTIAL, DELETING)):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _clean_leftovers(home: Home) -> None:
    """Called under the backups lock: every `.partial` is from a creator that died, and
    every `.deleting` from an interrupted delete."""
    for entry in home.backups.iterdir():
        if entry.is_dir() and entry.name.endswith((PARTIAL, DELETING)):
            shutil.rmtree(entry, ignore_errors=True)


# --- pruning -------------------------------------------------------------------------------


def prune_plan(home: Home, *, keep: int, protected: set[str],
               safety_retention_days: float) -> list[Manifest]:
    """The backups prune would delete, newest first.

    The `keep` newest verified backups are kept, and so is everything newer than the oldest
    of them (unverified newer backups may not have been verified yet). Below that line a
    backup goes unless a kept release refers to it (`protected`) or it is a safety,
    pre-downgrade or pre-reset backup younger than the retention window. With fewer than
    `keep` verified backups nothing is deleted: there is no good backup to spare.
    """
    if keep < 1:
        raise OpsError("prune must keep at least one verified backup", exit_code=2)
    backups = list_backups(home)
    verified = [m for m in backups if m.verified_at]
    if len(verified) < keep:
        return []
    line = verified[keep - 1]
    older = backups[backups.index(line) + 1:]
    cutoff = datetime.now(UTC) - timedelta(days=safety_retention_days)
    return [m for m in older
            if m.id not in protected
            and not (m.kind in RETAINED_KINDS and _created(m) > cutoff)]


def _created(manifest: Manifest) -> datetime:
    created = datetime.fromisoformat(manifest.created_at)
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def delete_backups(home: Home, manifests: list[Manifest]) -> None:
    """Each backup is first renamed out of the listing (atomic), then its files removed."""
    if not manifests:
        return
    with _backups_lock(home):
        for manifest in manifests:
            directory = backup_dir(home, manifest.id)
            if not ID_PATTERN.fullmatch(manifest.id) or not directory.is_dir():
                continue
            doomed = directory.with_name(manifest.id + DELETING)
            os.rename(directory, doomed)
            fsync_path(home.backups)
            shutil.rmtree(doomed)
