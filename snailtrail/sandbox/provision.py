"""The sandbox's environment: the repository's CloudFormation template, created through moto's CloudFormation
by the same change-set code as ``snailtrail infra up``.

Before the stack, what an account's owner does by hand (docs/production.md): the domain's certificate in ACM
and its hosted zone. After it, only what moto cannot do (docs/sandbox.md, CloudFormation): the load-balancer
role's managed policy, whose statements go inline (verify checks the role has it). What differs from
production is a parameter of the template, never the template.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from snailtrail.aws.session import AwsClients
from snailtrail.config.phases import Phase
from snailtrail.config.settings import Settings
from snailtrail.infra.stack import InfraResult, StackRun
from snailtrail.infra.template import StackInputs, role_name, stack_inputs
from snailtrail.sandbox import moto_cloudformation

# The test listener answers this machine only.
TEST_LISTENER_CIDR = "127.0.0.0/8"
# moto answers at once: the change set and the stack are polled often, not every 5 s.
POLL_INTERVAL_S = 0.05

# AmazonECSInfrastructureRolePolicyForLoadBalancers' statements, inline under its name: moto does not load AWS's
# managed policies, so the template's ManagedPolicyArns attach nothing there.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html
LOAD_BALANCER_POLICY = "AmazonECSInfrastructureRolePolicyForLoadBalancers"
LOAD_BALANCER_STATEMENTS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            "Resource": "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
        },
        {
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"],
            "Resource": [
                "arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*",
                "arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*/*",
            ],
        },
    ],
}


def sandbox_stack(
    settings: Settings, phases: list[Phase], certificate_arn: str, health_interval_s: int, deregistration_delay_s: int
) -> StackInputs:
    """The environment's stack as ``snailtrail infra up`` computes it, with the sandbox's own values as parameters:
    short health checks and drains (ECS's defaults would make every sandbox deploy wait minutes) and the
    test listener open to this machine only."""
    return stack_inputs(
        settings,
        phases,
        certificate_arn=certificate_arn,
        overrides={
            "HealthCheckIntervalSeconds": str(health_interval_s),
            "DeregistrationDelaySeconds": str(deregistration_delay_s),
            "TestListenerCidr": TEST_LISTENER_CIDR,
        },
    )


def provision(
    clients: AwsClients,
    settings: Settings,
    phases: list[Phase],
    certificate: tuple[bytes, bytes],
    health_interval_s: int = 5,
    deregistration_delay_s: int = 5,
    on_event: Callable[[str], None] = lambda _line: None,
) -> InfraResult:
    """Import ``certificate`` (PEM certificate, key), create the hosted zone, then the stack; its result."""
    moto_cloudformation.install()
    pem, key = certificate
    arn = clients.client("acm").import_certificate(Certificate=pem, PrivateKey=key)["CertificateArn"]
    if settings.domain is not None:
        zone = settings.domain.hosted_zone.rstrip(".")
        clients.client("route53").create_hosted_zone(Name=zone, CallerReference=f"snailtrail-{zone}")
    inputs = sandbox_stack(settings, phases, arn, health_interval_s, deregistration_delay_s)
    result = StackRun(clients, inputs, poll_interval_s=POLL_INTERVAL_S, on_event=on_event).up()
    # moto does not load AWS's managed policies: the template's ManagedPolicyArns attach nothing there.
    clients.client("iam").put_role_policy(
        RoleName=role_name(inputs.parameters["LoadBalancerRoleName"]),
        PolicyName=LOAD_BALANCER_POLICY,
        PolicyDocument=json.dumps(LOAD_BALANCER_STATEMENTS),
    )
    return result
