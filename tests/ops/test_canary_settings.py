"""`[deploy]` canary settings and the step verdict, without processes."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from jobnaut.ops.canary.analysis import breach, judge_step
from jobnaut.ops.canary.settings import DeploySettings, parse_deploy
from jobnaut.ops.environment import CONFIG_TEMPLATE, _parse
from jobnaut.ops.errors import OpsError
from jobnaut.ops.guard.settings import GuardSettings
from jobnaut.ops.guard.traffic import Hit, TrafficWindows


def test_no_canary_is_a_switch_all_at_once() -> None:
    assert parse_deploy({}) == DeploySettings()
    assert DeploySettings().canary_steps == ()


def test_a_canary_lists_its_partial_steps_before_the_promotion() -> None:
    settings = parse_deploy({"canary": [5, 25, 100], "canary_step_seconds": 30})
    assert settings.canary == (5, 25, 100) and settings.canary_steps == (5, 25)
    assert settings.canary_step_seconds == 30.0
    assert settings.canary_max_step_seconds == 180.0


@pytest.mark.parametrize("section, message", [
    ({"canary": [5, 50, 25, 100]}, "must grow step by step"),
    ({"canary": [5, 5, 100]}, "must grow step by step"),
    ({"canary": [5, 25]}, "must end with 100"),
    ({"canary": [100]}, "is no canary"),
    ({"canary": [0, 100]}, "between 1 and 100"),
    ({"canary": [5, 150]}, "between 1 and 100"),
    ({"canary": "5,25,100"}, "list of whole percentages"),
    ({"canary": [5.5, 100]}, "list of whole percentages"),
    ({"canary": [True, 100]}, "list of whole percentages"),
    ({"canary_step_seconds": 0}, "canary_step_seconds must be a positive"),
    ({"canary_step_seconds": "60"}, "canary_step_seconds must be a positive"),
    ({"canary_step_seconds": 60, "canary_max_step_seconds": 30}, "at least"),
    ({"canary_percent": 5}, "unknown setting(s): canary_percent"),
])
def test_bad_values_are_refused_with_what_to_write(section: dict[str, Any], message: str
                                                   ) -> None:
    with pytest.raises(ValueError) as refused:
        parse_deploy(section)
    assert message in str(refused.value), refused.value


def test_a_bad_value_in_jobnaut_toml_refuses_to_read_the_environment() -> None:
    raw = tomllib.loads(_template())
    raw["deploy"]["canary"] = [25, 5, 100]
    with pytest.raises(OpsError) as refused:
        _parse(raw, Path("jobnaut.toml"))
    assert "[deploy] canary percentages must grow" in refused.value.message


def test_the_environment_template_documents_the_defaults() -> None:
    config = _parse(tomllib.loads(_template()), Path("jobnaut.toml"))
    assert config.deploy == DeploySettings()
    assert "# canary = [5, 25, 100]" in _template()


def test_every_deploy_setting_is_documented() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    assert [f.name for f in fields(DeploySettings) if f"`{f.name}`" not in guide] == []


def _template() -> str:
    return CONFIG_TEMPLATE.format(name="t", source="/src", backend_port=1, frontend_port=2,
                                  admin_port=3, switch="caddy", guard="true",
                                  driver="process", driver_lines="")


# --- the step verdict ------------------------------------------------------------------

def _windows(canary_errors: int, canary_requests: int, at: float) -> TrafficWindows:
    windows = TrafficWindows(keep_seconds=600)
    windows.add([Hit(at - 30 + i * 0.05, "backend", "v1", 200, 0.02) for i in range(1000)])
    windows.add([Hit(at + i * 0.1, "backend", "v2", 500 if i < canary_errors else 200, 0.02)
                 for i in range(canary_requests)])
    return windows


def test_a_canary_failing_its_share_of_users_breaches_against_the_concurrent_baseline(
        ) -> None:
    judged = judge_step(_windows(15, 30, 1000.0), canary="v2", baselines={"backend": "v1"},
                        step_start=1000.0, now=1004.0, s=GuardSettings())
    bad = breach(judged)
    assert bad is not None and bad.service == "backend" and bad.verdict.rule == "5xx"
    assert bad.line() == "backend 5xx 50 % of 30 requests vs 0 % baseline"


def test_a_few_errors_on_a_handful_of_requests_do_not_end_a_canary() -> None:
    judged = judge_step(_windows(2, 10, 1000.0), canary="v2", baselines={"backend": "v1"},
                        step_start=1000.0, now=1002.0, s=GuardSettings())
    assert breach(judged) is None and judged[0].requests == 10
