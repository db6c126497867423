"""The guard's figures from the access log (traffic.py) and its reading of switches
(bake.py): files and data only, no processes."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

from jobnaut.ops.environment import CONFIG_TEMPLATE, _parse
from jobnaut.ops.guard.bake import Watch, compare, switches
from jobnaut.ops.guard.settings import GuardSettings
from jobnaut.ops.guard.traffic import Hit, LogTailer, TrafficWindows, parse_line, prometheus
from jobnaut.ops.ledger import Activation


def line(ts: float, status: int = 200, duration: float = 0.01, release: str = "v1",
         service: str = "backend") -> str:
    # The shape of Caddy's JSON access log with the fields the switch appends.
    return json.dumps({"level": "info", "ts": ts, "logger": "http.log.access.jobnaut_access",
                       "msg": "handled request", "request": {"uri": "/api/jobs"},
                       "duration": duration, "size": 12, "status": status,
                       "service": service, "upstream": "127.0.0.1:4000", "release": release})


def test_parse_line_reads_hits_and_ignores_anything_else() -> None:
    assert parse_line(line(100.5, 503, 0.2, "v3")) == Hit(100.5, "backend", "v3", 503, 0.2)
    assert parse_line("not json") is None
    assert parse_line('{"ts": 1, "status": 200}') is None  # no service/release: not ours
    assert parse_line(json.dumps({"ts": 1, "status": "x", "duration": 0, "service": "b",
                                  "release": "v1"})) is None
    assert parse_line("[1, 2]") is None


def test_tailer_returns_whole_new_lines_and_keeps_its_offset(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    tailer = LogTailer(log)
    assert tailer.read() == []  # no file yet
    log.write_text(line(1) + "\n" + line(2)[:20])
    assert [parse_line(x).at for x in tailer.read()] == [1.0]  # type: ignore[union-attr]
    with log.open("a") as out:
        out.write(line(2)[20:] + "\n" + line(3) + "\n")
    assert [parse_line(x).at for x in tailer.read()] == [2.0, 3.0]  # type: ignore[union-attr]
    assert tailer.read() == []


def test_tailer_survives_rotation_and_truncation(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(line(1) + "\n")
    tailer = LogTailer(log)
    assert len(tailer.read()) == 1
    with log.open("a") as out:
        out.write(line(2) + "\n")  # written just before the rotation
    os.rename(log, tmp_path / "access-1.log")
    log.write_text(line(3) + "\n")
    assert [parse_line(x).at for x in tailer.read()] == [2.0, 3.0]  # type: ignore[union-attr]
    with log.open("r+") as out:  # truncated in place (copytruncate), then written again
        out.truncate(0)
    assert tailer.read() == []
    log.write_text(line(5) + "\n")
    assert [parse_line(x).at for x in tailer.read()] == [5.0]  # type: ignore[union-attr]


def test_tailer_starts_part_way_back_on_a_line_boundary(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("".join(line(i) + "\n" for i in range(100)))
    recent = LogTailer(log, start_back_bytes=(len(line(99)) + 1) * 3).read()
    assert [parse_line(x).at for x in recent] == [97.0, 98.0, 99.0]  # type: ignore[union-attr]
    cut = LogTailer(log, start_back_bytes=(len(line(99)) + 1) * 3 + 5).read()
    assert len(cut) == 3  # the line cut in the middle (96) is skipped


def test_windows_keep_recent_hits_per_release_and_compute_figures() -> None:
    windows = TrafficWindows(keep_seconds=60)
    windows.add([Hit(t, "backend", "v1", 200, 0.01) for t in range(0, 100)])
    windows.add([Hit(t, "backend", "v2", 500 if t % 2 else 200, 0.5) for t in range(90, 100)])
    windows.prune(now=100)
    old = windows.figures("backend", "v1", 0, 200)
    assert old.requests == 60  # hits older than 60 s are gone
    new = windows.figures("backend", "v2", 95, 200)
    assert (new.requests, new.errors, new.quantile(0.95)) == (5, 3, 0.5)
    assert windows.series() == [("backend", "v1"), ("backend", "v2")]
    text = prometheus(windows, now=100, span=10)
    assert 'jobnaut_release_requests{service="backend",release="v2",class="5xx"} 5' in text
    assert 'jobnaut_release_latency_seconds{service="backend",release="v1",quantile="0.95"}' \
           ' 0.010000' in text


def activation(id: int, release: int, service: str, at: str, kind: str = "deploy",
               operation: int | None = None) -> Activation:
    return Activation(id, release, service, operation or release, kind, at, None)


def test_switches_group_an_operations_activations_and_name_the_previous_release() -> None:
    history = [
        activation(1, 1, "backend", "2026-01-01T00:00:00.000+00:00"),
        activation(2, 1, "frontend", "2026-01-01T00:00:00.000+00:00"),
        activation(3, 2, "backend", "2026-01-01T00:10:00.000+00:00"),
        activation(4, 2, "frontend", "2026-01-01T00:10:00.000+00:00"),
        activation(5, 1, "backend", "2026-01-01T00:11:00.000+00:00", "rollback-code", 9),
    ]
    found = switches(history, after_id=2)
    assert [(s.release, s.previous, s.returning) for s in found] == [
        ("v2", {"backend": 1, "frontend": 1}, False), ("v1", {"backend": 2}, True)]
    assert found[0].at == 1767226200.0
    assert switches(history, after_id=5) == []


def test_compare_judges_the_new_release_against_the_baseline_before_the_switch() -> None:
    s = GuardSettings()
    history = [activation(1, 1, "backend", "2026-01-01T00:00:00+00:00"),
               activation(2, 2, "backend", "2026-01-01T00:10:00+00:00")]
    switch = switches(history, after_id=1)[0]
    at = switch.at
    windows = TrafficWindows(keep_seconds=600)
    windows.add([Hit(at - 30 + i * 0.1, "backend", "v1", 200, 0.01) for i in range(300)])
    windows.add([Hit(at + i * 0.05, "backend", "v2", 500, 0.01) for i in range(40)])
    watch = Watch(switch, bake_until=at + s.bake_seconds)
    verdict = compare(windows, watch, "backend", at + 2, s)
    assert verdict.breach and verdict.evidence == "5xx 100 % of 40 requests vs 0 % baseline"


def test_the_environment_template_holds_valid_guard_settings() -> None:
    text = CONFIG_TEMPLATE.format(name="t", source="/src", backend_port=1, frontend_port=2,
                                  admin_port=3, switch="caddy", guard="true",
                                  driver="process", driver_lines="")
    config = _parse(tomllib.loads(text), Path("jobnaut.toml"))
    assert config.guard == GuardSettings()  # the template documents the defaults


def test_every_guard_setting_is_documented() -> None:
    from dataclasses import fields

    guide = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    missing = [f.name for f in fields(GuardSettings) if f"`{f.name}`" not in guide]
    assert missing == []
