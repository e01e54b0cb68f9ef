"""What the printed policies can name only after asking the account (read-only): the service's own listeners
and rules (not every one of a shared load balancer), the roles of its older verified revisions (a rollback
passes them), and the Cognito user pools its rules authenticate with."""

from __future__ import annotations

from snailtrail.aws.elbv2 import actions_of, forward_weights
from snailtrail.context import Context
from snailtrail.iam import AccountResources
from snailtrail.traffic_route import traffic_port


def account_resources(ctx: Context) -> AccountResources:
    settings = ctx.settings
    lb = settings.service.load_balancer
    balancer = ctx.elbv2.load_balancer(lb.name)
    if balancer is None:
        return AccountResources()
    names = {lb.target_group, lb.alternate} | (
        {settings.service.blue_green.target_group} if settings.service.blue_green else set()
    )
    groups = {group["TargetGroupArn"] for name in names if (group := ctx.elbv2.target_group(name))}
    blue_green_port = settings.service.blue_green.test_listener_port if settings.service.blue_green else None
    ports = {traffic_port(settings), lb.test_listener_port, blue_green_port} - {None}
    listeners, rules, pools = [], [], set()
    for listener in ctx.elbv2.listeners(balancer["LoadBalancerArn"]):
        if listener["Port"] not in ports:
            continue
        listeners.append(listener["ListenerArn"])
        forwarders = [listener]
        for rule in ctx.elbv2.rules(listener["ListenerArn"]):
            if not rule.get("IsDefault") and set(forward_weights(actions_of(rule))) & groups:
                rules.append(rule["RuleArn"])
                forwarders.append(rule)
        pools |= {
            action["AuthenticateCognitoConfig"]["UserPoolArn"]
            for forwarder in forwarders
            for action in actions_of(forwarder)
            if action.get("Type") == "authenticate-cognito"
        }
    roles = {
        arn
        for revision in ctx.history.verified()
        for arn in (ctx.history.get(revision.arn).definition.get(k) for k in ("taskRoleArn", "executionRoleArn"))
        if arn
    }
    return AccountResources(tuple(listeners), tuple(rules), tuple(sorted(roles)), tuple(sorted(pools)))
