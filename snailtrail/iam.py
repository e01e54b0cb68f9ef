"""The least-privilege IAM policy each kind of run needs: the exact calls snailtrail makes."""

from __future__ import annotations

from typing import Any

from snailtrail.config import Settings

READ_ONLY = [
    "ecs:DescribeClusters",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeRouteTables",
    "ec2:DescribeVpcEndpoints",
    "route53:ListHostedZonesByName",
    "route53:ListResourceRecordSets",
    "iam:GetRole",
    "logs:DescribeLogGroups",
    "ssm:DescribeParameters",
    "secretsmanager:DescribeSecret",
    "ecr:DescribeImages",
    "tag:GetResources",
]
STATE_READ = ["dynamodb:GetItem", "dynamodb:Query"]
DEPLOY = [
    "ecs:RegisterTaskDefinition",
    "ecs:TagResource",
    "ecs:UpdateService",
    "ecs:CreateService",
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
]
# Blue-green and canary only: the traffic shifts and the gates' metrics.
TRAFFIC = ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule", "cloudwatch:GetMetricData"]
STATE_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
PURPOSES = ("verify", "deploy")


def policy(settings: Settings, purpose: str) -> dict[str, Any]:
    """An IAM policy document for ``verify`` (read-only: verify, status, plan, trail) or ``deploy``
    (deploy and rollback too)."""
    table = f"arn:aws:dynamodb:{settings.environment.region}:*:table/{settings.environment.state_table}"
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadTheService", "Effect": "Allow", "Action": READ_ONLY, "Resource": "*"},
        {"Sid": "ReadTheTrailAndLock", "Effect": "Allow", "Action": STATE_READ, "Resource": table},
    ]
    if purpose == "deploy":
        statements.append({"Sid": "Deploy", "Effect": "Allow", "Action": DEPLOY, "Resource": "*"})
        if settings.service.blue_green is not None:
            statements.append({"Sid": "MoveTraffic", "Effect": "Allow", "Action": TRAFFIC, "Resource": "*"})
        statements.append({"Sid": "WriteTheTrailAndLock", "Effect": "Allow", "Action": STATE_WRITE, "Resource": table})
        roles = [r for r in (settings.service.task_role_arn, settings.service.execution_role_arn) if r]
        if roles:
            statements.append(
                {
                    "Sid": "PassTheTaskRoles",
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": roles,
                    "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                }
            )
    return {"Version": "2012-10-17", "Statement": statements}
