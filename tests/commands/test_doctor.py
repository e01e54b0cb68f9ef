"""snailtrail doctor: a read-only preflight of the account, each failure with its fix."""

from __future__ import annotations

import boto3

from tests.conftest import Account, Sandbox


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
        "listeners": "pass",
        "target groups": "pass",
        "listener rules": "pass",
        "health check path": "pass",
        "task ingress": "pass",
        "load balancer role": "pass",
        "model bucket": "pass",  # the stack's bucket
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
    sandbox.edit_config(lambda doc: doc["service"]["load_balancer"].update(listener_port=9443))
    code, checks = doctor(sandbox)
    assert code == 1
    assert "aws ecr create-repository --repository-name shine" in checks["ecr repository"]["fix"]
    assert "aws logs create-log-group --log-group-name /ecs/shine" in checks["log group"]["fix"]
    assert "aws dynamodb create-table --table-name snailtrail-state" in checks["state table"]["fix"]
    assert "no listener on port 9443" in checks["listeners"]["summary"]


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


def test_an_account_made_by_infra_up_passes_every_check(account: Account) -> None:
    assert account.run("infra", "up").exit_code == 0
    result = account.run("doctor", "--json")
    statuses = {c["name"]: c["status"] for c in result.json()["checks"]}
    assert result.exit_code == 0, result.stdout
    assert set(statuses.values()) == {"pass"}, statuses
    listeners = next(c for c in result.json()["checks"] if c["name"] == "listeners")
    assert listeners["summary"] == "shine-alb listens on 443, 80 redirects to HTTPS, test listener 8443"


def test_what_the_template_would_have_made_right_is_named(account: Account) -> None:
    assert account.run("infra", "up").exit_code == 0
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    balancer = elbv2.describe_load_balancers(Names=["shine-alb"])["LoadBalancers"][0]["LoadBalancerArn"]
    by_port = {x["Port"]: x for x in elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"]}
    # Port 80 serves instead of redirecting; the test listener's rule is gone; the health check is AWS's default.
    elbv2.modify_listener(
        ListenerArn=by_port[80]["ListenerArn"],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}],
    )
    test_rule = next(
        r for r in elbv2.describe_rules(ListenerArn=by_port[8443]["ListenerArn"])["Rules"] if not r["IsDefault"]
    )
    elbv2.delete_rule(RuleArn=test_rule["RuleArn"])
    group = elbv2.describe_target_groups(Names=["shine-tg"])["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group(TargetGroupArn=group, HealthCheckPath="/")
    ec2 = boto3.client("ec2", region_name="us-east-1")
    tasks = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["shine-tasks"]}])["SecurityGroups"][
        0
    ]
    ec2.revoke_security_group_ingress(GroupId=tasks["GroupId"], IpPermissions=tasks["IpPermissions"])
    boto3.client("s3", region_name="us-east-1").delete_bucket(Bucket="shine-models-123456789012")

    result = account.run("doctor", "--json")
    assert result.exit_code == 1
    checks = {c["name"]: c for c in result.json()["checks"]}
    assert checks["listeners"]["summary"] == "shine-alb: port 80 does not redirect to HTTPS"
    assert checks["listener rules"]["summary"] == "no rule of listener 8443 forwards to both shine-tg and shine-tg-alt"
    assert checks["health check path"]["summary"] == "shine-tg checks /, the phases answer on /health"
    assert (
        "admit(s) no traffic from" in checks["task ingress"]["summary"]
        and "[8000]" in checks["task ingress"]["summary"]
    )
    assert checks["model bucket"]["summary"] == "bucket shine-models-123456789012 does not exist"
    assert all("snailtrail infra up" in checks[name]["fix"] for name in ("listeners", "listener rules", "model bucket"))
