"""The schema revisions a commit knows, read from its migration files in git — before it is
built, so that a deploy that cannot work is refused before anything is recorded."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from jobnaut.ops import runner
from jobnaut.ops.errors import OpsError

VERSIONS = "src/jobnaut/migrations/versions"


def git_list_migrations(source: Path, commit: str) -> list[str]:
    return ["git", "-C", str(source), "ls-tree", "-z", "--name-only", commit, "--",
            f"{VERSIONS}/"]


def git_show_file(source: Path, commit: str, path: str) -> list[str]:
    return ["git", "-C", str(source), "show", f"{commit}:{path}"]


@dataclass(frozen=True)
class CommitSchema:
    revisions: frozenset[str]  # every revision the commit's migrations know
    heads: frozenset[str]  # the ones no other migration revises: what the code expects
    revises: tuple[tuple[str, frozenset[str]], ...] = ()  # (revision, what it revises)

    @property
    def head(self) -> str:
        return ", ".join(sorted(self.heads)) or "none"

    def pending_from(self, current: str | None) -> list[str]:
        """The revisions an upgrade from `current` (None: an empty database) runs, oldest
        first: every ancestor of the heads that is not `current` or one of its ancestors."""
        parents = dict(self.revises)

        def lineage(start: set[str]) -> set[str]:
            seen: set[str] = set()
            todo = list(start)
            while todo:
                revision = todo.pop()
                if revision not in seen:
                    seen.add(revision)
                    todo.extend(parents.get(revision, ()))
            return seen

        applied = lineage({current}) if current else set()
        pending = lineage(set(self.heads)) - applied
        ordered: list[str] = []
        while pending:  # oldest first: a revision after everything it revises
            ready = sorted(r for r in pending if not (parents.get(r, frozenset()) & pending))
            if not ready:  # a cycle: no valid order exists; list them rather than loop
                ready = sorted(pending)
            ordered += ready
            pending -= set(ready)
        return ordered


def schema_of_commit(source: Path, commit: str) -> CommitSchema | None:
    """The commit's migration graph, or None when it cannot be read without running the
    code (no migrations directory, or a file whose ids are not plain strings)."""
    try:
        listing = runner.run(git_list_migrations(source, commit), timeout=60)
    except OpsError:
        return None
    paths = [p for p in listing.split("\0") if p.endswith(".py") and not
             Path(p).name.startswith("__")]
    if not paths:
        return None
    revisions: set[str] = set()
    revised: set[str] = set()
    edges: list[tuple[str, frozenset[str]]] = []
    for path in paths:
        try:
            ids = _revision_ids(runner.run(git_show_file(source, commit, path), timeout=60))
        except OpsError:
            return None
        if ids is None:
            return None
        revision, down = ids
        revisions.add(revision)
        revised.update(down)
        edges.append((revision, frozenset(down)))
    return CommitSchema(frozenset(revisions), frozenset(revisions - revised),
                        tuple(sorted(edges)))


def _revision_ids(text: str) -> tuple[str, set[str]] | None:
    """(revision, the revisions it revises) from a migration file's module-level constants."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    values: dict[str, object] = {}
    for node in tree.body:
        target, value = _assignment(node)
        if target in ("revision", "down_revision") and value is not None:
            try:
                values[target] = ast.literal_eval(value)
            except ValueError:
                return None
    revision, down = values.get("revision"), values.get("down_revision")
    if not isinstance(revision, str):
        return None
    if down is None:
        return revision, set()
    if isinstance(down, str):
        return revision, {down}
    if isinstance(down, (tuple, list)) and all(isinstance(d, str) for d in down):
        return revision, set(down)  # a merge revision
    return None


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
            isinstance(node.targets[0], ast.Name):
        return node.targets[0].id, node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None
