"""snailtrail.yaml: the strategy block and the keys issue 20 replaced (exit 2 naming the field, nothing called);
what one environment sets for itself."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from snailtrail.cli import run
from snailtrail.config.settings import load_settings
from snailtrail.context import Context
from snailtrail.ui import Reporter
from tests.conftest import edit

# What a strategy block asks for, and the field an error must name.
BAD_STRATEGIES = {
    "a kind ECS has no strategy for": ({"kind": "red-black"}, "strategy.kind"),
    "a canary percent below ECS's 0.1": ({"kind": "canary", "canary": {"percent": 0.05}}, "strategy.canary.percent"),
    "a canary percent not in steps of 0.1": (
        {"kind": "canary", "canary": {"percent": 12.34}},
        "strategy.canary.percent",
    ),
    "a linear step under ECS's 3 %": (
        {"kind": "linear", "linear": {"step_percent": 2}},
        "strategy.linear.step_percent",
    ),
    "a bake over ECS's 1440 minutes": ({"kind": "blue-green", "bake_minutes": 1441}, "strategy.bake_minutes"),
    "a hold timeout over ECS's 20160 minutes": (
        {"kind": "canary", "hold": {"timeout_minutes": 20161}},
        "strategy.hold.timeout_minutes",
    ),
    "a hold timeout action ECS does not take": (
        {"kind": "canary", "hold": {"on_timeout": "IGNORE"}},
        "strategy.hold.on_timeout",
    ),
    "the old canary steps": ({"kind": "canary", "steps": [{"weight": 10, "bake_s": 60}]}, "canary: {percent"),
    "the old final bake": ({"kind": "blue-green", "final_bake_s": 60}, "bake_minutes"),
}


def plan(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = run(["--config", str(path), "plan", "phase-1", "--env", "sandbox"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", list(BAD_STRATEGIES))
def test_a_strategy_ecs_would_refuse_exits_2_naming_the_field_before_any_call(
    case: str, project: Path, record_api_calls: Counter[str], capsys: pytest.CaptureFixture[str]
) -> None:
    strategy, field = BAD_STRATEGIES[case]
    edit(project, lambda document: document["environments"]["sandbox"].update(strategy=strategy))
    code, err = plan(project, capsys)
    assert code == 2 and field in err, err
    assert not record_api_calls


def test_a_config_with_the_second_colour_exits_2_naming_the_keys_that_replace_it(
    project: Path, record_api_calls: Counter[str], capsys: pytest.CaptureFixture[str]
) -> None:
    def old_style(document: Any) -> None:
        document["service"]["blue_green"] = {"target_group": "shine-tg-green", "test_listener_port": 8080}

    edit(project, old_style)
    code, err = plan(project, capsys)
    assert code == 2, err
    for replacement in (
        "service.load_balancer.alternate_target_group",
        "service.load_balancer.test_listener_port",
        "load_balancer_role_arn",
    ):
        assert replacement in err
    assert not record_api_calls


def test_every_strategy_of_the_repository_config_loads_with_its_documented_fields(project: Path) -> None:
    from snailtrail.config.settings import load_settings
    from snailtrail.config.strategy_config import HookAction, StrategyKind

    strategy = load_settings(str(project), "sandbox").environment.strategy
    assert strategy is not None and strategy.kind is StrategyKind.rolling
    assert (strategy.canary.percent, strategy.canary.bake_minutes) == (10, 10)
    assert (strategy.linear.step_percent, strategy.linear.step_bake_minutes) == (25, 5)
    held = strategy.model_validate({"kind": "linear", "hold": {"timeout_minutes": 30}})
    assert held.hold is not None and held.hold.on_timeout is HookAction.rollback
    assert [kind.ecs_strategy for kind in StrategyKind] == ["ROLLING", "BLUE_GREEN", "CANARY", "LINEAR"]


def test_each_environment_has_its_own_domain(production_config: Path) -> None:
    production = load_settings(str(production_config), "production")
    sandbox = load_settings(str(production_config), "sandbox")
    assert production.domain is not None and production.domain.name == "shine.example.com"
    assert sandbox.domain is not None and sandbox.domain.name == "shine.sandbox.test"


def test_an_environment_without_public_url_is_reached_at_its_own_domain(production_config: Path) -> None:
    import yaml

    document = yaml.safe_load(production_config.read_text())
    del document["environments"]["production"]["public_url"]
    production_config.write_text(yaml.safe_dump(document))
    context = Context(load_settings(str(production_config), "production"), Reporter(quiet=True))
    assert context.public_url() == "https://shine.example.com"


def test_the_task_role_of_an_environment_wins_over_the_services(production_config: Path) -> None:
    import yaml

    document = yaml.safe_load(production_config.read_text())
    document["service"]["task_role_arn"] = "arn:aws:iam::123456789012:role/sandbox-task"
    production_config.write_text(yaml.safe_dump(document))
    assert load_settings(str(production_config), "production").task_role_arn.endswith("111122223333:role/shine-task")
    assert load_settings(str(production_config), "sandbox").task_role_arn.endswith("123456789012:role/sandbox-task")


def _production(production_config: Path, **changes: object) -> Context:
    import yaml

    document = yaml.safe_load(production_config.read_text())
    document["environments"]["production"].update(changes)
    production_config.write_text(yaml.safe_dump(document))
    return Context(load_settings(str(production_config), "production"), Reporter(quiet=True))


def test_behind_cloudfront_the_test_url_is_the_load_balancers_domain(production_config: Path) -> None:
    context = _production(production_config, public_url="https://d111111abcdef8.cloudfront.net")
    assert context.test_url() == "https://shine.example.com:8443"


def test_an_environments_test_url_wins(production_config: Path) -> None:
    context = _production(production_config, test_url="https://origin.shine.example.com:8443")
    assert context.test_url() == "https://origin.shine.example.com:8443"
