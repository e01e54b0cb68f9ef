"""What a native deployment (BLUE_GREEN, CANARY, LINEAR) of the one service needs, read before anything changes.

ECS moves the traffic on two listener rules, one on the production listener and one on the test
listener, each forwarding to the service's two target groups (Amazon ECS Developer Guide, "Amazon ECS
blue/green deployments" and "Resources for blue/green deployments"). snailtrail finds them: the rule
on that listener whose forward names both groups. It passes them to UpdateService as
``loadBalancers[].advancedConfiguration``, with the role ECS calls Elastic Load Balancing with, and sets
``deploymentConfiguration`` from the strategy: the PAUSE hooks it judges at, whose timeout action is
ROLLBACK, so a snailtrail that died is rolled back by ECS.

A service whose deployment controller is CODE_DEPLOY or EXTERNAL is not ECS's to deploy: plan, deploy
and init refuse it before anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from snailtrail.aws.elbv2 import forward_weights
from snailtrail.config.settings import Settings
from snailtrail.config.strategy_config import HookAction, StrategyConfig
from snailtrail.context import Context
from snailtrail.errors import ConfigError

TEST_STAGE = "POST_TEST_TRAFFIC_SHIFT"  # the new revision behind the test listener, no production traffic yet
PRODUCTION_STAGE = "POST_PRODUCTION_TRAFFIC_SHIFT"  # all production traffic on the new revision, old one kept
JUDGED_STAGES = (TEST_STAGE, PRODUCTION_STAGE)


@dataclass(frozen=True)
class NativeSetup:
    """The ARNs a native deployment names, resolved once."""

    load_balancer: str
    primary_target_group: str
    alternate_target_group: str
    production_rule: str
    test_rule: str
    role_arn: str

    def load_balancers(self, container_name: str, container_port: int) -> list[dict[str, Any]]:
        """UpdateService's loadBalancers with the advancedConfiguration ECS shifts traffic with."""
        return [
            {
                "targetGroupArn": self.primary_target_group,
                "containerName": container_name,
                "containerPort": container_port,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": self.alternate_target_group,
                    "productionListenerRule": self.production_rule,
                    "testListenerRule": self.test_rule,
                    "roleArn": self.role_arn,
                },
            }
        ]

    def groups(self) -> tuple[str, str]:
        return self.primary_target_group, self.alternate_target_group


def refuse_foreign_controller(name: str, service: dict[str, Any] | None) -> None:
    """A service CodeDeploy or an external controller deploys cannot be deployed through ECS's API (exit 2)."""
    controller = ((service or {}).get("deploymentController") or {}).get("type", "ECS")
    if controller == "ECS":
        return
    raise ConfigError(
        f"service {name} uses the {controller} deployment controller: its deployments are not ECS's, and "
        "snailtrail deploys only through ECS (nothing was changed)",
        fix=f"recreate {name} with deploymentController ECS (a service's controller cannot be changed in place; "
        "ECS's own BLUE_GREEN, CANARY and LINEAR strategies replace CodeDeploy's), or deploy it with the tool "
        f"that owns its {controller} controller",
    )


def rule_priority(settings: Settings) -> int:
    traffic = settings.environment.traffic
    return traffic.rule_priority if traffic is not None else 10


class LoadBalancingReads(Protocol):
    """The reads the setup is resolved with: Elbv2Api's, or verify's view, which makes each once."""

    def load_balancer(self, name: str) -> dict[str, Any] | None: ...
    def target_group(self, name: str) -> dict[str, Any] | None: ...
    def listeners(self, load_balancer_arn: str) -> list[dict[str, Any]]: ...
    def rules(self, listener_arn: str) -> list[dict[str, Any]]: ...


def resolve_native_setup(ctx: Context, reads: LoadBalancingReads | None = None) -> NativeSetup:
    """Everything advancedConfiguration names, from the configuration and the account; a missing piece is a
    ConfigError naming it and the fix (exit 2, nothing changed)."""
    settings = ctx.settings
    elbv2: LoadBalancingReads = reads or ctx.elbv2
    lb = settings.service.load_balancer
    where = f"environments.{settings.environment_name}"
    if lb.test_listener_port is None:
        raise ConfigError(
            "blue-green, canary and linear deploys need a test listener for the service",
            fix="set service.load_balancer.test_listener_port (and alternate_target_group, unless it is "
            "<target_group>-alt)",
        )
    role_arn = settings.environment.load_balancer_role_arn
    if role_arn is None:
        raise ConfigError(
            f"{where} names no load_balancer_role_arn: ECS needs a role to move the listener rules' traffic",
            fix=f"set {where}.load_balancer_role_arn to a role trusted by ecs.amazonaws.com with "
            "AmazonECSInfrastructureRolePolicyForLoadBalancers",
        )
    balancer = elbv2.load_balancer(lb.name)
    if balancer is None:
        raise ConfigError(f"load balancer {lb.name} does not exist", fix="fix service.load_balancer.name")
    groups = []
    for field, name in (("target_group", lb.target_group), ("alternate_target_group", lb.alternate)):
        group = elbv2.target_group(name)
        if group is None:
            raise ConfigError(
                f"target group {name} (service.load_balancer.{field}) does not exist",
                fix="create it (ip targets, the container port, the health path), or fix its name",
            )
        groups.append(group["TargetGroupArn"])
    primary, alternate = groups
    rules = []
    for field, port in (
        (f"{where}.traffic.listener_port", settings.production_listener_port),
        ("service.load_balancer.test_listener_port", lb.test_listener_port),
    ):
        rules.append(_service_rule(ctx, elbv2, balancer["LoadBalancerArn"], port, field, (primary, alternate)))
    return NativeSetup(balancer["LoadBalancerArn"], primary, alternate, rules[0], rules[1], role_arn)


def _service_rule(
    ctx: Context, elbv2: LoadBalancingReads, balancer_arn: str, port: int, field: str, groups: tuple[str, str]
) -> str:
    """The rule on the listener at ``port`` whose forward names both of the service's groups."""
    settings = ctx.settings
    listener = next((x for x in elbv2.listeners(balancer_arn) if x["Port"] == port), None)
    if listener is None:
        raise ConfigError(
            f"{settings.service.load_balancer.name} has no listener on port {port} ({field})",
            fix=f"create it, or fix {field}",
        )
    for rule in elbv2.rules(listener["ListenerArn"]):
        if rule.get("IsDefault"):
            continue
        if set(groups) <= set(forward_weights(rule.get("Actions") or [])):
            return str(rule["RuleArn"])
    names = f"{settings.service.load_balancer.target_group} and {settings.service.load_balancer.alternate}"
    raise ConfigError(
        f"listener {port} has no rule forwarding to {names}: ECS moves a native deployment's traffic on such a rule",
        fix=f"add a rule (priority {rule_priority(settings)}, path-pattern /*) forwarding to both groups, weights "
        "100 and 0; `snailtrail sandbox up` and the CloudFormation template create it",
    )


def deployment_configuration(strategy: StrategyConfig) -> dict[str, Any]:
    """deploymentConfiguration for a native strategy: snailtrail's PAUSE hooks, ECS's circuit breaker and alarms.

    The circuit breaker and alarms roll back to the source revision, the one live before this deployment
    (the deployment's own rollback, not a rolling service's last COMPLETED one).
    """
    judge_timeout = {"timeoutInMinutes": strategy.judge_timeout_minutes, "action": HookAction.rollback.value}
    hold = strategy.hold
    test_timeout = (
        {"timeoutInMinutes": hold.timeout_minutes, "action": hold.on_timeout.value} if hold else judge_timeout
    )
    configuration: dict[str, Any] = {
        "strategy": strategy.kind.ecs_strategy,
        "bakeTimeInMinutes": strategy.bake_minutes,
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "lifecycleHooks": [
            {"targetType": "PAUSE", "lifecycleStages": [TEST_STAGE], "timeoutConfiguration": test_timeout},
            {"targetType": "PAUSE", "lifecycleStages": [PRODUCTION_STAGE], "timeoutConfiguration": judge_timeout},
        ],
        "alarms": {"alarmNames": list(strategy.alarms), "enable": bool(strategy.alarms), "rollback": True},
    }
    if strategy.kind.ecs_strategy == "CANARY":
        configuration["canaryConfiguration"] = {
            "canaryPercent": strategy.canary.percent,
            "canaryBakeTimeInMinutes": strategy.canary.bake_minutes,
        }
    if strategy.kind.ecs_strategy == "LINEAR":
        configuration["linearConfiguration"] = {
            "stepPercent": strategy.linear.step_percent,
            "stepBakeTimeInMinutes": strategy.linear.step_bake_minutes,
        }
    return configuration
