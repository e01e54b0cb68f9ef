"""Least privilege: verify runs under moto's IAM enforcement with the verify policy alone, deploy with the
deploy policy alone, and the verify policy cannot deploy."""

from __future__ import annotations

import fnmatch
import json

import boto3
import pytest
from moto.core import enable_iam_authentication

from tests.checks.test_check_fixtures import TRUST_ECS
from tests.conftest import Sandbox

GOOD = "fake.local/shine:phase-1-good"


def user_with_policy(sandbox: Sandbox, purpose: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto authorizes every call but S3's against Resource "*" (moto/core/authorization.py), so the
    # scoped statements are widened here for the emulator; the actions stay exactly as printed.
    # test_each_scoped_write_names_the_resources_the_deploy_touched checks the ARNs against AWS's.
    document = json.loads(sandbox.run("iam-policy", "--for", purpose).stdout)
    for statement in document["Statement"]:
        statement["Resource"] = "*"
    document = json.dumps(document)
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName=purpose)
    iam.put_user_policy(UserName=purpose, PolicyName="snailtrail", PolicyDocument=document)
    key = iam.create_access_key(UserName=purpose)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])


def test_the_policy_is_valid_json_naming_the_state_table(sandbox: Sandbox) -> None:
    document = json.loads(sandbox.run("iam-policy", "--for", "deploy").stdout)
    actions = [
        a for s in document["Statement"] for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert "ecs:UpdateService" in actions and "ssm:GetParameter" not in actions
    assert any("table/snailtrail-state" in str(s["Resource"]) for s in document["Statement"])
    assert sandbox.run("iam-policy", "--for", "everything").exit_code == 2


def test_verify_runs_with_the_verify_policy_alone(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    user_with_policy(sandbox, "verify", monkeypatch)
    with enable_iam_authentication():
        result = sandbox.run("verify", "--json")
        denied = sandbox.deploy("phase-1", GOOD)
    checks = {c["name"]: c for c in result.json()["checks"]}
    # moto 5.2 refuses every Route 53 call under IAM enforcement, even with Action "*": the one
    # check that cannot be judged here; every other check ran with the verify policy alone.
    unjudged = [c["name"] for c in checks.values() if "could not be checked" in c["summary"]]
    assert unjudged == ["dns ownership"]
    assert [c["name"] for c in checks.values() if c["status"] == "fail"] == ["dns ownership"]
    assert denied.exit_code == 2 and "AWS refused" in denied.stderr


def test_deploy_runs_with_the_deploy_policy_alone(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0  # the service exists; the deploy updates it
    user_with_policy(sandbox, "deploy", monkeypatch)
    with enable_iam_authentication():
        result = sandbox.deploy("phase-2", "fake.local/shine:phase-2-good")
    assert result.exit_code == 0, result.stderr


def statements(sandbox: Sandbox, *extra: str) -> dict[str, dict]:
    document = json.loads(sandbox.run(*extra, "iam-policy", "--for", "deploy").stdout)
    return {s["Sid"]: s for s in document["Statement"]}


def test_no_deploy_write_is_granted_on_every_resource(sandbox: Sandbox) -> None:
    from snailtrail.infra.iam_policy import STATE_WRITE, UNSCOPED_DEPLOY, UNSCOPED_TRAFFIC

    unscoped = {
        action
        for statement in statements(sandbox).values()
        if statement["Resource"] == "*"
        for action in statement["Action"]
        if not action.split(":")[1].startswith(("Describe", "List", "Get", "Filter"))
    }
    assert unscoped == {"ecs:RegisterTaskDefinition"}  # no resource type in the Service Authorization Reference
    assert "ecr:GetAuthorizationToken" in UNSCOPED_DEPLOY and "cloudwatch:GetMetricData" in UNSCOPED_TRAFFIC
    assert "ecr:BatchGetImage" in statements(sandbox)["PushTheImage"]["Action"]
    assert statements(sandbox)["WriteTheTrailAndLock"]["Action"] == STATE_WRITE


def test_each_scoped_write_names_the_resources_the_deploy_touched(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    granted = statements(sandbox)
    ecs = boto3.client("ecs", region_name="us-east-1")
    service = ecs.describe_services(cluster="shine", services=["shine"])["services"][0]

    def allows(sid: str, arn: str) -> bool:
        resources = granted[sid]["Resource"]
        return any(
            fnmatch.fnmatchcase(arn, pattern) for pattern in ([resources] if isinstance(resources, str) else resources)
        )

    assert allows("DeployTheService", service["serviceArn"])
    assert not allows("DeployTheService", service["serviceArn"].replace("/shine/shine", "/shine/billing"))
    assert allows("TagTheServiceAndRevisions", service["taskDefinition"])
    assert not allows("TagTheServiceAndRevisions", service["taskDefinition"].replace("/shine:", "/billing:"))
    # A service deployment's ARN: arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID (Service
    # Authorization Reference, Amazon ECS resource types).
    deployment = service["serviceArn"].replace(":service/", ":service-deployment/") + "/r4nd0m1d"
    assert allows("AnswerTheServiceDeployment", deployment)
    assert not allows("AnswerTheServiceDeployment", deployment.replace("/shine/shine/", "/shine/billing/"))
    assert granted["AnswerTheServiceDeployment"]["Action"] == [
        "ecs:ContinueServiceDeployment",
        "ecs:StopServiceDeployment",
    ]
    role = granted["PassTheLoadBalancerRole"]
    assert role["Resource"] == "arn:aws:iam::123456789012:role/shine-ecs-load-balancers"
    assert role["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}}
    assert not any("elasticloadbalancing:Modify" in str(s["Action"]) for s in granted.values())
    assert granted["PushTheImage"]["Resource"] == "arn:aws:ecr:us-east-1:*:repository/shine"


def test_gate_alarms_are_read_by_name_and_nothing_else(sandbox: Sandbox) -> None:
    sandbox.edit_config(
        lambda doc: doc["environments"]["unit"].update(strategy={"kind": "canary", "gates": {"alarms": ["shine-5xx"]}})
    )
    granted = statements(sandbox)
    assert granted["ReadTheGatesAlarms"] == {
        "Sid": "ReadTheGatesAlarms",
        "Effect": "Allow",
        "Action": ["cloudwatch:DescribeAlarms"],
        "Resource": ["arn:aws:cloudwatch:us-east-1:*:alarm:shine-5xx"],
    }


def test_the_partition_and_account_come_from_the_environment(sandbox: Sandbox) -> None:
    sandbox.edit_config(lambda doc: doc["environments"]["unit"].update(region="cn-north-1", account_id="123456789012"))
    table = statements(sandbox)["WriteTheTrailAndLock"]["Resource"]
    assert table == "arn:aws-cn:dynamodb:cn-north-1:123456789012:table/snailtrail-state"


def test_doctor_runs_with_the_verify_policy_alone(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    user_with_policy(sandbox, "verify", monkeypatch)
    with enable_iam_authentication():
        result = sandbox.run("doctor", "--json")
    unjudged = [c["name"] for c in result.json()["checks"] if "could not be checked" in c["summary"]]
    assert unjudged == [] and result.exit_code == 0, result.stdout


def test_run_and_its_timeout_work_with_the_deploy_policy_alone(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    user_with_policy(sandbox, "deploy", monkeypatch)
    with enable_iam_authentication():
        result = sandbox.run("run", "phase-1", "--timeout", "1", "--poll-interval", "0.05", "--", "sleep", "30")
    assert result.exit_code == 124, result.stderr  # RunTask, then StopTask at the timeout
    granted = statements(sandbox)
    assert granted["RunOneOffTasks"]["Resource"] == "arn:aws:ecs:us-east-1:*:task-definition/shine:*"
    assert granted["StopOneOffTasks"]["Resource"] == "arn:aws:ecs:us-east-1:*:task/shine/*"


def test_the_state_table_is_confined_to_the_keys_the_service_writes(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    granted = statements(sandbox)
    written = {
        item["pk"]["S"]
        for item in boto3.client("dynamodb", region_name="us-east-1").scan(TableName="snailtrail-state")["Items"]
    }
    for sid in ("ReadTheTrailAndLock", "WriteTheTrailAndLock"):
        keys = granted[sid]["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]
        assert sorted(keys) == ["lock#unit#shine", "trail#unit#shine"]
        assert written <= set(keys)  # every item a deploy wrote is one the role may touch, and no more


def from_account(sandbox: Sandbox, purpose: str = "deploy") -> dict[str, dict]:
    result = sandbox.run("iam-policy", "--for", purpose, "--from-account")
    assert result.exit_code == 0, result.stderr
    return {s["Sid"]: s for s in json.loads(result.stdout)["Statement"]}


def test_reads_are_scoped_to_the_services_logs_images_roles_and_secrets(sandbox: Sandbox) -> None:
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shine-db-AbCdEf"
    sandbox.edit_phase("phase-1", lambda doc: doc["container"].update(secrets={"DB": f"{secret}:password::"}))
    sandbox.edit_config(lambda doc: doc["environments"]["unit"].update(model_bucket="shine-models"))
    granted = statements(sandbox)
    assert "logs:GetLogEvents" not in granted["ReadTheService"]["Action"]
    assert granted["ReadTheServicesLogs"]["Resource"] == [
        "arn:aws:logs:us-east-1:*:log-group:/ecs/shine",
        "arn:aws:logs:us-east-1:*:log-group:/ecs/shine:*",
    ]
    assert granted["ReadTheImages"]["Resource"] == "arn:aws:ecr:us-east-1:*:repository/shine"
    assert granted["ReadTheRoles"]["Resource"] == [
        "arn:aws:iam::123456789012:role/shine-ecs-load-balancers",
        "arn:aws:iam::123456789012:role/shine-execution",
    ]
    assert granted["DescribeTheSecrets"]["Resource"] == [f"{secret}*"]
    assert granted["FindTheModelBucket"]["Resource"] == "arn:aws:s3:::shine-models"
    unscoped = {a for s in granted.values() if s["Resource"] == "*" for a in s["Action"]}
    assert not unscoped & {"iam:GetRole", "ecr:DescribeImages", "secretsmanager:DescribeSecret", "logs:FilterLogEvents"}


def test_a_rollback_may_pass_the_roles_of_an_older_verified_revision(sandbox: Sandbox) -> None:
    old_role = "arn:aws:iam::123456789012:role/shine-task-v1"
    boto3.client("iam", region_name="us-east-1").create_role(
        RoleName="shine-task-v1", AssumeRolePolicyDocument=json.dumps(TRUST_ECS)
    )
    sandbox.edit_config(lambda doc: doc["environments"]["unit"].update(task_role_arn=old_role))
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    sandbox.edit_config(lambda doc: doc["environments"]["unit"].update(task_role_arn=old_role.replace("-v1", "-v2")))
    passed = from_account(sandbox)["PassTheTaskRoles"]["Resource"]
    assert old_role in passed and old_role.replace("-v1", "-v2") in passed
    assert old_role not in statements(sandbox)["PassTheTaskRoles"]["Resource"]  # offline: the configured only


def test_smoke_may_assume_the_configured_task_role_and_no_other(sandbox: Sandbox) -> None:
    """The deploy's smoke step gives the containers the task role's credentials (AssumeRole)."""
    assert "AssumeTheTaskRoleForSmoke" not in statements(sandbox)  # no task role: nothing to assume
    role = "arn:aws:iam::123456789012:role/shine-task"
    sandbox.edit_config(lambda doc: doc["environments"]["unit"].update(task_role_arn=role))
    granted = statements(sandbox)["AssumeTheTaskRoleForSmoke"]
    assert (granted["Action"], granted["Resource"]) == (["sts:AssumeRole"], role)


def yaml_port(sandbox: Sandbox) -> int:
    import yaml

    return yaml.safe_load(sandbox.config.read_text())["service"]["load_balancer"]["listener_port"]
