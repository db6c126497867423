"""The operator's command line as a tired person uses it: IDs copied out of an 80-column
table work, every option says what it does, `--json` never skips the question at a
terminal, the record says who rolled back and why, and `.venv/bin/jobnaut` finds uv and
a relative --home where the caller meant. SQLite only: nothing here depends on the database."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer.main

from jobnaut.cli.conventions import EXAMPLES, describe_standard_options
from jobnaut.cli.main import app
from jobnaut.ops.commit_schema import VERSIONS
from tests.ops.conftest import REPO_ROOT, Environment, SourceRepo, git


@pytest.fixture(scope="module")
def rolled_back(deployed_sqlite: Environment, source_repo: SourceRepo) -> Iterator[Environment]:
    """v1 good, v2 deployed and then rolled back by an operator with a reason, a backup."""
    env = deployed_sqlite
    bad = source_repo.commit_variant("comms-bad", {"README.md": ("JobNaut", "JobNaut (bad)")})
    env.jobnaut("deploy", bad, "-m", "new readme")
    env.jobnaut("rollback", "code", "--yes", "-m", "the readme is wrong")
    env.jobnaut("backup", "create")
    yield env


def narrow(env: Environment, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "jobnaut", "--home", str(env.home), *args],
                            capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
                            env={**os.environ, "COLUMNS": "80", "TERM": "dumb"})
    for line in result.stdout.splitlines():
        assert len(line) <= 80, f"wider than the terminal: {line!r}"
    return result.stdout


def test_a_backup_id_copied_from_an_80_column_table_is_accepted(
        rolled_back: Environment) -> None:
    table = narrow(rolled_back, "backup", "list")
    ids = [line.split()[0] for line in table.splitlines()[1:] if re.match(r"\d{8}T", line)]
    assert ids, table
    assert "…" not in table.split("hidden at")[0]
    verified = rolled_back.jobnaut("backup", "verify", ids[0])
    assert "sha256" in verified.stdout or "✓" in verified.stdout
    assert re.search(r"\d+(\.\d)? (B|kB|MB)", table), "sizes in human units"


def test_releases_fit_80_columns_with_whole_ids_and_the_rollback_entry(
        rolled_back: Environment) -> None:
    table = narrow(rolled_back, "releases")
    rows = table.splitlines()[1:]
    ids = [row.split()[0] for row in rows if re.match(r"v\d+ ", row)]
    assert ids == ["v2", "v1"], table
    # Heroku-style entry: the rollback itself is in the list, with who and why.
    flat = " ".join(table.split())  # free text folds onto more lines
    assert re.search(r"rollback code .*Rollback v2 → v1: the readme is wrong", flat), table
    user = rolled_back.json("releases")[0]["rolled_back"]["by"]
    rolled_back.jobnaut("rollback", "code", "--to", ids[0], "--dry-run")  # the copied id works
    assert user in table


def test_a_rolled_back_release_says_who_when_and_why(rolled_back: Environment) -> None:
    newest, first = rolled_back.json("releases")
    assert newest["status"] == "rolled_back"
    ended = newest["rolled_back"]
    assert ended["reason"] == "the readme is wrong" and ended["to"] == "v1"
    assert ended["by"] == newest["actor"]  # the same person, named the same way
    assert ended["at"] >= newest["created_at"]
    assert first["rolled_back"] is None


def test_json_at_a_terminal_still_asks_and_no_changes_nothing(
        rolled_back: Environment) -> None:
    before = rolled_back.json("status")["active_release"]
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobnaut", "--home", str(rolled_back.home), "rollback",
             "code", "--to", "v2", "--json"], stdin=slave, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        os.close(slave)
        slave = -1
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            os.write(master, b"n\n")  # answers the question whenever it comes
            time.sleep(0.2)
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert proc.returncode == 1
    assert b"Go ahead?" in err and b"will:" in err
    assert out == b"", "stdout stays for JSON only"
    assert rolled_back.json("status")["active_release"] == before


def test_every_option_says_what_it_does_and_version_prints() -> None:
    command = typer.main.get_command(app)
    describe_standard_options(command)
    undescribed = []

    def walk(cmd: object, path: str) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{path} {name}")
        for param in getattr(cmd, "params", []):
            if param.param_type_name == "option" and not param.help:
                undescribed.append(f"{path} {param.opts[0]}")

    walk(command, "jobnaut")
    assert undescribed == []
    for path, examples in EXAMPLES.items():  # every example parses as the command it shows
        for example in examples:
            words = shlex.split(example.split("#")[0].split("|")[0])[1:]
            target = command
            while words and words[0] in getattr(target, "commands", {}):
                target = target.commands[words.pop(0)]
            assert target.name == path.split()[-1], example
            assert "Examples:" in (target.epilog or "")
            target.make_context(target.name, words)  # raises on an unknown option
    version = subprocess.run([sys.executable, "-m", "jobnaut", "--version"], capture_output=True,
                             text=True, check=True).stdout
    assert re.fullmatch(r"jobnaut \d+\.\d+\.\d+\S*\n", version)
    unknown = subprocess.run([sys.executable, "-m", "jobnaut", "rollback", "code", "--service",
                              "database"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "backend" in unknown.stderr


def test_uv_is_found_off_path_and_a_relative_home_means_the_callers_folder(
        rolled_back: Environment) -> None:
    without_uv = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                 if p and not (Path(p) / "uv").exists())
    found = subprocess.run(
        [sys.executable, "-c", "from jobnaut.ops.commands import uv_binary; print(uv_binary())"],
        capture_output=True, text=True, check=True, env={**os.environ, "PATH": without_uv},
    ).stdout.strip()
    assert subprocess.run([found, "--version"], capture_output=True, text=True,
                          check=True).stdout.startswith("uv ")
    launcher = subprocess.run(
        [str(REPO_ROOT / "jobnaut"), "--home", rolled_back.home.name, "status", "--json"],
        cwd=rolled_back.home.parent, capture_output=True, text=True)
    assert launcher.returncode == 0, launcher.stderr
    assert str(rolled_back.home) in launcher.stdout or '"active_release"' in launcher.stdout


def test_deploy_dry_run_says_what_would_change_and_changes_nothing(
        rolled_back: Environment, source_repo: SourceRepo) -> None:
    head = rolled_back.json("migrate", "status")["database_revision"]
    git(source_repo.path, "checkout", "-q", "-B", "preview-migration", "main")
    (source_repo.path / VERSIONS / "zz_preview.py").write_text(
        f'revision = "zz_preview"\ndown_revision = "{head}"\n')
    git(source_repo.path, "add", "-A")
    git(source_repo.path, "commit", "-qm", "add a preview column")
    sha = git(source_repo.path, "rev-parse", "HEAD")
    git(source_repo.path, "checkout", "-q", "main")
    releases_before = rolled_back.json("releases")

    planned = rolled_back.json("deploy", "preview-migration", "--dry-run")
    preview = planned["preview"]
    assert preview["commit"] == sha
    assert preview["commits_total"] == 1 and preview["commits"][0].endswith("add a preview column")
    assert preview["migrations"] == ["zz_preview"] and preview["schema_now"] == head
    assert preview["frozen"] is None and not preview["backwards"]
    said = rolled_back.jobnaut("deploy", "preview-migration", "--dry-run").stdout
    assert f"preview-migration is {sha[:12]}; serving now: v1" in said
    assert "migrations to run: zz_preview" in " ".join(said.split())

    rolled_back.jobnaut("freeze", "-m", "investigating")
    try:
        assert rolled_back.json("deploy", "main", "--dry-run")["preview"]["frozen"] == \
            "investigating"
    finally:
        rolled_back.jobnaut("freeze", "--lift", "-m", "test over")
    assert rolled_back.json("releases") == releases_before


def test_migrate_down_dry_run_names_what_it_would_undo_and_changes_nothing(
        rolled_back: Environment) -> None:
    state = rolled_back.json("migrate", "status")
    backups = len(rolled_back.json("backup", "list"))
    previous = state["applied"][-2]["revision"]
    said = rolled_back.jobnaut("migrate", "down", "--to", previous, "--dry-run").stdout
    flat = " ".join(said.split())
    assert f"from {state['database_revision']} to {previous} would undo" in flat
    assert rolled_back.json("migrate", "status")["database_revision"] == \
        state["database_revision"]
    assert len(rolled_back.json("backup", "list")) == backups


def test_logs_since_and_follow(rolled_back: Environment) -> None:
    log = rolled_back.home / "logs" / "v1-backend.log"  # v1 serves again after the rollback
    recent = rolled_back.jobnaut("logs", "backend", "--since", "1d").stdout
    assert "Started server process" in recent
    assert rolled_back.jobnaut("logs", "backend", "--since", "2099-01-01T00:00:00Z").stdout == ""
    follower = subprocess.Popen(
        [sys.executable, "-m", "jobnaut", "--home", str(rolled_back.home), "logs", "backend",
         "-n", "0", "--follow"], stdout=subprocess.PIPE, text=True)
    written = threading.Event()

    def write_until_read() -> None:  # however long the follower takes to start
        for n in range(600):
            if written.wait(0.3):
                return
            with log.open("a") as f:
                f.write(f"2099-01-01T00:00:00.000Z INFO test: written while following #{n}\n")

    writer = threading.Thread(target=write_until_read)
    writer.start()
    try:
        assert follower.stdout is not None
        first = follower.stdout.readline()
        assert re.search(r"INFO test: written while following #\d+$", first.strip()), first
    finally:
        written.set()
        writer.join()
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=30)
    assert follower.returncode in (0, 1, 130)


def test_watch_shows_user_reports_per_release(rolled_back: Environment) -> None:
    before = rolled_back.jobnaut("watch", "--once").stdout
    assert "user reports (report a problem): " in before
    sent = httpx.post(f"{rolled_back.api}/api/reports",
                      json={"page": "/jobs", "message": "search shows nothing"}, timeout=10)
    assert sent.status_code == 201 and sent.json()["release"] == "v1"
    after = rolled_back.jobnaut("watch", "--once").stdout
    counted = re.search(r"user reports \(report a problem\): .*\bv1 (\d+)", after)
    assert counted, after
    earlier = re.search(r"\bv1 (\d+)", before.split("user reports")[1].splitlines()[0])
    assert int(counted[1]) == (int(earlier[1]) if earlier else 0) + 1
