"""The CLI starts without loading what only running a command needs (ADR 0015): the
database drivers, SQLAlchemy, HTTP and the web frameworks are imported by the command that
uses them. Timings belong in bench/; this checks what is loaded, which does not vary."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "psycopg", "httpx", "fastapi", "starlette", "apprise",
         "argon2", "uvicorn", "jinja2")


def loaded_by(statement: str) -> list[str]:
    probe = (f"import sys; {statement}; import json; "
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)
    return [m for m in json.loads(done.stdout.splitlines()[-1]) if m in HEAVY]


def test_building_the_command_tree_loads_no_heavy_library() -> None:
    assert loaded_by("from jobnaut.cli.main import app") == []


def test_the_help_answers_without_them() -> None:
    statement = ("from typer.main import get_command; from jobnaut.cli.main import app; "
                 "get_command(app).main(['--help'], standalone_mode=False)")
    assert loaded_by(statement) == []


def test_the_probe_sees_a_heavy_import() -> None:  # the check above can fail
    assert loaded_by("import jobnaut.ops.backups") == ["psycopg", "sqlalchemy"]
