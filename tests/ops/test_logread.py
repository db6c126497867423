"""Reading logs: lines since a time (untimed lines stay with their record), and following
a real file while another thread writes it, truncates it and replaces it."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from jobnaut.ops import logread

SERVICE_LOG = """\
2026-11-29T10:00:00.000Z INFO uvicorn.error: Started server process [1]
2026-11-29T10:05:00.000Z ERROR jobnaut.app: boom
Traceback (most recent call last):
  File "x.py", line 1
2026-11-29T10:10:00.000Z INFO uvicorn.error: Shutting down
""".splitlines()


def test_since_keeps_timed_lines_after_the_time_and_their_untimed_continuations() -> None:
    kept = list(logread.since(SERVICE_LOG, datetime(2026, 11, 29, 10, 5, tzinfo=UTC)))
    assert kept == SERVICE_LOG[1:]
    assert list(logread.since(SERVICE_LOG, datetime(2026, 11, 29, 11, tzinfo=UTC))) == []


def test_switch_lines_are_timed_by_their_json_ts() -> None:
    early = json.dumps({"ts": datetime(2026, 11, 29, 9, tzinfo=UTC).timestamp(), "msg": "a"})
    late = json.dumps({"ts": datetime(2026, 11, 29, 12, tzinfo=UTC).timestamp(), "msg": "b"})
    assert list(logread.since([early, late, "{not json"],
                              datetime(2026, 11, 29, 10, tzinfo=UTC))) == [late, "{not json"]
    assert logread.line_time("INFO:     plain uvicorn line") is None


def test_follow_reads_new_lines_and_starts_over_after_truncation(tmp_path: Path) -> None:
    log = tmp_path / "v1-backend.log"
    log.write_text("old line\n")
    seen: list[str] = []
    done = threading.Event()

    def writer() -> None:
        time.sleep(0.3)
        with log.open("a") as f:
            f.write("first new\nsecond ")
            f.flush()
            time.sleep(0.3)
            f.write("half\n")
        time.sleep(0.5)
        log.write_text("after restart\n")  # truncated and written again

    thread = threading.Thread(target=writer)
    thread.start()
    for line in logread.follow(log, stop=done.is_set):
        seen.append(line)
        if line == "after restart":
            done.set()
    thread.join()
    assert seen == ["first new", "second half", "after restart"]
