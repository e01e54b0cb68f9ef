"""What a phase's task definition says to ECS in a real account, and RevisionHistory against AWS's documented
answers where moto cannot lag or keep a deregistered revision tagged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from snailtrail.aws.ecs import TAG_PHASE, TAG_VERIFIED, EcsApi
from snailtrail.config.phases import load_phases
from snailtrail.config.settings import load_settings
from snailtrail.plan.taskdef import RevisionHistory, fingerprint, render

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/shine:{}"


class Clients:
    """What EcsApi asks of AwsClients: one client by service name."""

    def __init__(self, ecs: Any) -> None:
        self._ecs = ecs

    def client(self, name: str) -> Any:
        assert name == "ecs"
        return self._ecs


@pytest.fixture
def stubbed(aws_env: None) -> Iterator[tuple[Stubber, Stubber, RevisionHistory]]:
    ecs = boto3.client("ecs", region_name="us-east-1")
    tagging = boto3.client("resourcegroupstaggingapi", region_name="us-east-1")
    with Stubber(ecs) as ecs_stub, Stubber(tagging) as tagging_stub:
        yield ecs_stub, tagging_stub, RevisionHistory(EcsApi(Clients(ecs), "shine"), "shine", tagging)
        ecs_stub.assert_no_pending_responses()
        tagging_stub.assert_no_pending_responses()


def tag_page(*revisions: tuple[int, dict[str, str]]) -> dict[str, Any]:
    return {
        "ResourceTagMappingList": [
            {"ResourceARN": ARN.format(n), "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            for n, tags in revisions
        ],
        "PaginationToken": "",
    }


def described(number: int, status: str, tags: dict[str, str]) -> dict[str, Any]:
    return {
        "taskDefinition": {
            "taskDefinitionArn": ARN.format(number),
            "family": "shine",
            "revision": number,
            "status": status,
            "containerDefinitions": [{"name": "app", "image": f"repo/shine:{number}"}],
        },
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
    }


def test_a_revision_this_run_tagged_verified_counts_although_the_lookup_lags(stubbed) -> None:
    _, tagging, history = stubbed
    history.add_tags(ARN.format(2), {TAG_PHASE: "phase-2", TAG_VERIFIED: "2026-11-25T10:00:00.000+00:00"})
    # The lookup, asked after TagResource, still shows revision 2 without its tags (it lags).
    tagging.add_response("get_resources", tag_page((1, {TAG_PHASE: "phase-1", TAG_VERIFIED: "2026-11-24"})))
    verified = {r.arn: r.verified_at for r in history.verified()}
    assert verified == {ARN.format(1): "2026-11-24", ARN.format(2): "2026-11-25T10:00:00.000+00:00"}


def test_a_deregistered_revision_the_lookup_still_returns_is_never_the_last_verified(stubbed) -> None:
    ecs, tagging, history = stubbed
    tagging.add_response(
        "get_resources",
        tag_page(
            (1, {TAG_PHASE: "phase-1", TAG_VERIFIED: "2026-11-24"}),
            (2, {TAG_PHASE: "phase-2", TAG_VERIFIED: "2026-11-25"}),
        ),
    )
    ecs.add_response("describe_task_definition", described(2, "INACTIVE", {TAG_PHASE: "phase-2"}))
    ecs.add_response("describe_task_definition", described(1, "ACTIVE", {TAG_PHASE: "phase-1"}))
    target = history.last_verified()
    assert target is not None and target.arn == ARN.format(1)


def rendered(config: Path) -> dict:
    settings = load_settings(str(config), "production")
    return render(
        settings, load_phases(settings.phases_path)[1], "111122223333.dkr.ecr.eu-west-1.amazonaws.com/shine:x"
    )


def test_the_production_revision_names_its_platform_role_and_logs(production_config: Path) -> None:
    definition = rendered(production_config)
    assert definition["runtimePlatform"] == {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"}
    assert definition["executionRoleArn"] == "arn:aws:iam::111122223333:role/shine-execution"
    options = definition["containerDefinitions"][0]["logConfiguration"]["options"]
    assert options["awslogs-group"] == "/ecs/shine" and options["awslogs-region"] == "eu-west-1"


def test_a_private_registry_gets_its_credentials_and_they_change_the_fingerprint(production_config: Path) -> None:
    before = rendered(production_config)
    secret = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:registry-AbCdEf"
    document = yaml.safe_load(production_config.read_text())
    document["environments"]["production"].update(registry="registry.example.com", registry_credentials=secret)
    production_config.write_text(yaml.safe_dump(document))
    after = rendered(production_config)
    assert after["containerDefinitions"][0]["repositoryCredentials"] == {"credentialsParameter": secret}
    assert fingerprint(after) != fingerprint(before)


def test_the_production_revision_runs_as_its_environments_task_role(production_config: Path) -> None:
    document = yaml.safe_load(production_config.read_text())
    assert "task_role_arn" not in document["service"]
    assert rendered(production_config)["taskRoleArn"] == "arn:aws:iam::111122223333:role/shine-task"
