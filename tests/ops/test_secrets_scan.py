"""The secrets scan that every end-to-end environment passes at teardown finds a secret
wherever it must not be, and leaves alone the owner-only files where secrets belong."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobnaut.ops.context import Env
from tests.ops.conftest import SourceRepo, make_environment
from tests.support.secrets_scan import environment_secrets, leaks


def test_the_scan_finds_a_secret_in_logs_outputs_and_readable_files(
        source_repo: SourceRepo, tmp_path_factory: pytest.TempPathFactory) -> None:
    env = make_environment(tmp_path_factory.mktemp("scan") / "env", source_repo, None)
    key = Env.open(env.home).config_of(Env.open(env.home).current_config_id())["ENCRYPTION_KEY"]
    assert key in environment_secrets(env.home)
    assert leaks(env.home, env.outputs) == []  # init itself says nothing secret

    private = env.home / "service.env"
    private.write_text(f"ENCRYPTION_KEY={key}\n")
    private.chmod(0o600)
    assert leaks(env.home, []) == []  # owner-only: where secrets belong

    readable = env.home / "notes.txt"
    readable.write_text(f"key is {key}")
    readable.chmod(0o644)
    log = env.home / "logs" / "v1-backend.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text(f"started with {key}")
    log.chmod(0o600)  # a log is never a place for a secret, whatever its mode
    found = leaks(env.home, ["fine", f"echo {key}"])
    assert sorted(found[1:]) == sorted([str(Path("notes.txt")), str(Path("logs/v1-backend.log"))])
    assert found[0].startswith("output #1")
