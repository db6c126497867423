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


def test_status_and_its_probes_load_no_http_client() -> None:
    # status probes every process: the standard library's http.client, no httpx (ADR 0015)
    assert loaded_by("import jobnaut.ops.actions.lifecycle, jobnaut.ops.serving") == []


def _leaving(body: str) -> subprocess.CompletedProcess[str]:
    program = f"import atexit, threading, time\nfrom jobnaut.cli.main import _leave\n{body}"
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=60)


def test_the_quick_exit_keeps_the_code_the_output_and_the_exit_handlers() -> None:
    done = _leaving("print('x' * 100_000, end='')\natexit.register(print, 'handler ran')\n"
                    "_leave(3)")
    assert done.returncode == 3
    assert done.stdout == "x" * 100_000 + "handler ran\n"


def test_the_quick_exit_waits_for_a_thread_still_at_work() -> None:
    done = _leaving("threading.Thread(target=lambda: (time.sleep(0.5), print('thread done'))"
                    ").start()\n_leave(4)")
    assert (done.returncode, done.stdout) == (4, "thread done\n")


def test_a_command_run_through_main_keeps_its_exit_codes() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "jobnaut", *args], capture_output=True,
                              text=True, timeout=60)

    assert run("--version").returncode == 0 and run("--version").stdout.startswith("jobnaut ")
    missing = run("--home", "/nonexistent/jobnaut-home", "status")
    assert missing.returncode == 1 and "no JobNaut environment" in missing.stderr
    assert run("no-such-command").returncode == 2
