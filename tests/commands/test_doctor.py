"""snailtrail doctor: a read-only preflight of the account, each failure with its fix."""

from __future__ import annotations

import boto3

from tests.conftest import Sandbox


def doctor(sandbox: Sandbox) -> tuple[int, dict[str, dict]]:
    result = sandbox.run("doctor", "--json")
    return result.exit_code, {c["name"]: c for c in result.json()["checks"]}


def test_a_ready_account_passes_and_doctor_changes_nothing(sandbox: Sandbox) -> None:
    sandbox.edit_config(lambda doc: doc["environments"]["unit"].update(account_id="123456789012"))
    code, checks = doctor(sandbox)
    assert code == 0, checks
    assert {name: c["status"] for name, c in checks.items()} == {
        "caller": "pass",
        "state table": "pass",
        "roles": "pass",
        "ecr repository": "pass",
        "log group": "pass",
        "cluster": "pass",
        "listener": "pass",
        "target groups": "pass",
    }
    assert "account 123456789012" in checks["caller"]["summary"]
    assert sandbox.mutating_calls() == []


def test_credentials_of_another_account_are_refused_naming_both(sandbox: Sandbox) -> None:
    sandbox.edit_config(lambda doc: doc["environments"]["unit"].update(account_id="111122223333"))
    code, checks = doctor(sandbox)
    assert code == 1
    caller = checks["caller"]
    assert caller["status"] == "fail" and "123456789012" in caller["summary"] and "111122223333" in caller["summary"]
    assert "AWS_PROFILE" in caller["fix"]


def test_without_an_account_id_the_caller_is_named_with_a_warning(sandbox: Sandbox) -> None:
    code, checks = doctor(sandbox)
    assert (
        code == 0 and checks["caller"]["status"] == "warn" and 'account_id: "123456789012"' in checks["caller"]["fix"]
    )


def test_what_a_deploy_needs_and_is_missing_fails_with_its_fix(sandbox: Sandbox) -> None:
    boto3.client("ecr", region_name="us-east-1").delete_repository(repositoryName="shine", force=True)
    boto3.client("logs", region_name="us-east-1").delete_log_group(logGroupName="/ecs/shine")
    boto3.client("dynamodb", region_name="us-east-1").delete_table(TableName="snailtrail-state")
    sandbox.edit_config(lambda doc: doc["service"]["load_balancer"].update(listener_port=443))
    code, checks = doctor(sandbox)
    assert code == 1
    assert "aws ecr create-repository --repository-name shine" in checks["ecr repository"]["fix"]
    assert "aws logs create-log-group --log-group-name /ecs/shine" in checks["log group"]["fix"]
    assert "aws dynamodb create-table --table-name snailtrail-state" in checks["state table"]["fix"]
    assert "no listener on port 443" in checks["listener"]["summary"]


def test_an_instance_target_group_and_an_untrusting_role_fail(sandbox: Sandbox) -> None:
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    vpc = elbv2.describe_target_groups(Names=["shine-tg"])["TargetGroups"][0]["VpcId"]
    elbv2.create_target_group(Name="shine-instances", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance")
    iam = boto3.client("iam", region_name="us-east-1")
    iam.update_assume_role_policy(
        RoleName="shine-execution",
        PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", '
        '"Principal": {"Service": "ec2.amazonaws.com"}}]}',
    )
    sandbox.edit_config(lambda doc: doc["service"]["load_balancer"].update(target_group="shine-instances"))
    code, checks = doctor(sandbox)
    assert code == 1
    assert "shine-instances has target type instance, not ip" in checks["target groups"]["summary"]
    assert "--target-type ip" in checks["target groups"]["fix"]
    assert "does not trust ecs-tasks.amazonaws.com" in checks["roles"]["summary"]
