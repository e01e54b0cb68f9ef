"""An aws environment is refused before any AWS call when AWS would refuse it or run it badly."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from snailtrail.cli import run
from tests.conftest import REPO, edit


def plan_production(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = run(["--config", str(path), "plan", "phase-2", "--env", "production"])
    return code, capsys.readouterr().err


def production(change: Callable[[dict[str, Any]], None]) -> Callable[[Any], None]:
    return lambda document: change(document["environments"]["production"])


def test_the_repository_production_environment_plans_with_environment_credentials(
    aws_env: None, record_api_calls: Counter[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The profile the config names (shine-prod) is not on this machine: environment credentials win."""
    from moto import mock_aws

    with mock_aws():
        code, err = plan_production(REPO / "snailtrail.yaml", capsys)
    assert code == 0, err
    assert record_api_calls["ecs.DescribeServices"] >= 1


CASES: dict[str, tuple[Callable[[Any], None], str, str]] = {
    "sandbox registry": (
        production(lambda env: env.update(registry="sandbox")),
        "environments.production.registry",
        "registry: ecr",
    ),
    "seed commands": (
        production(lambda env: env.update(seed_commands=[["true"]])),
        "environments.production.seed_commands",
        "remove seed_commands",
    ),
    "no execution role": (
        production(lambda env: env.pop("execution_role_arn")),
        "environments.production.execution_role_arn",
        "ECR images, awslogs",
    ),
    "no log group": (production(lambda env: env.pop("log_group")), "environments.production.log_group", "log_group"),
    "no platform": (
        production(lambda env: env.pop("cpu_architecture")),
        "environments.production.cpu_architecture",
        "X86_64",
    ),
    "ecr with registry credentials": (
        production(
            lambda env: env.update(
                registry_credentials="arn:aws:secretsmanager:eu-west-1:111122223333:secret:registry-AbCdEf"
            )
        ),
        "environments.production.registry_credentials",
        "execution role",
    ),
    "metrics period under an ALB's": (
        production(lambda env: env.update(metrics_period_s=30)),
        "environments.production.metrics_period_s",
        "a multiple of 60",
    ),
    "final bake under one published period": (
        production(lambda env: env.update(strategy={"kind": "blue-green", "bake_minutes": 1})),
        "environments.production.strategy.bake_minutes",
        "bake at least 2 minute(s) (120 s)",
    ),
    # allow_no_traffic does not excuse a bake that could not judge the new colour whatever its traffic.
    "short canary step with allow_no_traffic": (
        production(
            lambda env: env.update(
                strategy={
                    "kind": "canary",
                    "canary": {"percent": 10, "bake_minutes": 1},
                    "gates": {"allow_no_traffic": True},
                }
            )
        ),
        "environments.production.strategy.canary.bake_minutes",
        "bake at least 2 minute(s) (120 s)",
    ),
    "no bake without allow_no_traffic": (
        production(lambda env: env.update(strategy={"kind": "blue-green", "bake_minutes": 0})),
        "environments.production.strategy.bake_minutes",
        "the deploy would abort",
    ),
    "a linear step under one published period": (
        production(lambda env: env.update(strategy={"kind": "linear", "linear": {"step_bake_minutes": 1}})),
        "environments.production.strategy.linear.step_bake_minutes",
        "bake at least 2 minute(s) (120 s)",
    ),
    "public ip on EC2": (
        lambda document: document["service"].update(launch_type="EC2"),
        "service.network.assign_public_ip",
        "only to Fargate",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_incomplete_aws_environment_exits_2_naming_the_field_before_any_call(
    case: str,
    project: Path,
    aws_env: None,
    record_api_calls: Counter[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    change, field, words = CASES[case]
    edit(project, change)
    code, err = plan_production(project, capsys)
    assert code == 2 and field in err and words in err, err
    assert not record_api_calls


def test_a_fargate_size_aws_would_refuse_names_the_valid_memories(
    project: Path, aws_env: None, record_api_calls: Counter[str], capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = project.parent / "phases" / "phase-2-hybrid.yaml"
    edit(manifest, lambda document: document["container"].update(cpu=512, memory=512))
    code, err = plan_production(project, capsys)
    assert code == 2 and "phase-2-hybrid.yaml: container.memory" in err and "1024-4096" in err, err
    edit(manifest, lambda document: document["container"].update(cpu=384, memory=1024))
    code, err = plan_production(project, capsys)
    assert code == 2 and "container.cpu" in err and "384 is not a Fargate task size" in err, err
    assert not record_api_calls


def test_secrets_need_an_execution_role_on_ec2_too(
    project: Path, aws_env: None, record_api_calls: Counter[str], capsys: pytest.CaptureFixture[str]
) -> None:
    def ec2_without_role(document: Any) -> None:
        document["service"].update(launch_type="EC2")
        document["service"]["network"]["assign_public_ip"] = False
        document["environments"]["production"].pop("execution_role_arn")

    edit(project, ec2_without_role)
    secret = "arn:aws:ssm:eu-west-1:111122223333:parameter/shine/token"
    edit(project.parent / "phases" / "phase-2-hybrid.yaml", lambda d: d["container"].update(secrets={"TOKEN": secret}))
    code, err = plan_production(project, capsys)
    assert code == 2 and "execution_role_arn" in err and "phase-2's secrets" in err, err


def test_the_sandbox_is_not_held_to_the_aws_rules(project: Path) -> None:
    from snailtrail.config.aws_rules import environment_problems, require_environment
    from snailtrail.config.settings import load_settings

    settings = load_settings(str(project), "sandbox")
    assert [p.field for p in environment_problems(settings)] == [
        "environments.sandbox.registry",
        "environments.sandbox.seed_commands",
        "environments.sandbox.cpu_architecture",
    ]
    require_environment(settings)  # the embedded sandbox needs none of it


def test_a_phase_strategy_with_a_short_bake_is_refused_before_any_call(
    project: Path, aws_env: None, record_api_calls: Counter[str], capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = project.parent / "phases" / "phase-2-hybrid.yaml"
    short = {"kind": "canary", "canary": {"percent": 10, "bake_minutes": 1}}
    edit(manifest, lambda document: document.update(strategy=short))
    code, err = plan_production(project, capsys)
    assert code == 2 and "phase-2-hybrid.yaml: strategy.canary.bake_minutes" in err and "(120 s)" in err, err
    assert not record_api_calls


def test_the_default_strategy_and_a_health_only_step_pass_on_aws(project: Path) -> None:
    from snailtrail.config.aws_rules import environment_problems
    from snailtrail.config.settings import load_settings

    # No strategy in the environment: blue-green or canary take the defaults, which must judge on AWS.
    edit(project, production(lambda env: env.update(strategy={"kind": "canary"})))
    assert environment_problems(load_settings(str(project), "production")) == []
    # A bake of 0 is no bake: with allow_no_traffic the step passes on target health, as it says.
    edit(
        project,
        production(
            lambda env: env.update(
                metrics_period_s=300,
                strategy={
                    "kind": "canary",
                    "canary": {"percent": 10, "bake_minutes": 6},
                    "bake_minutes": 0,
                    "gates": {"allow_no_traffic": True},
                },
            )
        ),
    )
    assert environment_problems(load_settings(str(project), "production")) == []
