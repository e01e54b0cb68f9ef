"""The repository's CloudFormation templates and the parameters snailtrail.yaml gives them.

The templates (snailtrail/templates/) are the one definition of an environment's infrastructure; the
names in them come from the configuration, so the stack builds what snailtrail.yaml refers to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from snailtrail.config.phases import Phase
from snailtrail.config.settings import Settings
from snailtrail.errors import ConfigError

ENVIRONMENT_TEMPLATE = "environment.yaml"
GITHUB_ACTIONS_TEMPLATE = "github-actions.yaml"


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, !GetAtt...), read as their JSON long forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    # !Condition is the long form's {"Condition": name}; the rest are Fn::<name>.
    return {suffix: value} if suffix == "Condition" else {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(name: str) -> dict[str, Any]:
    """A template of snailtrail/templates/ as a dictionary of CloudFormation's JSON form."""
    text = resources.files("snailtrail").joinpath("templates", name).read_text(encoding="utf-8")
    loaded = yaml.load(text, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    return dict(loaded)


def template_body(template: dict[str, Any]) -> str:
    """What CreateChangeSet's TemplateBody takes (JSON is a template format CloudFormation reads)."""
    return json.dumps(template, separators=(",", ":"), sort_keys=False)


def role_name(arn: str) -> str:
    """The name in a role ARN (arn:aws:iam::123456789012:role/path/name)."""
    return arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class StackInputs:
    """One environment's stack: its name, template and every parameter's value."""

    stack_name: str
    template: dict[str, Any]
    parameters: dict[str, str]

    @property
    def body(self) -> str:
        return template_body(self.template)


def _one_value(phases: list[Phase], what: str, values: set[Any]) -> Any:
    if len(values) != 1:
        names = ", ".join(p.name for p in phases)
        raise ConfigError(
            f"the phases ({names}) disagree on {what} ({', '.join(sorted(map(str, values)))}), which the target "
            "groups they share have one of",
            fix=f"give every phase the same {what}",
        )
    return next(iter(values))


def _required(value: str | None, field: str, fix: str) -> str:
    if not value:
        raise ConfigError(f"`snailtrail infra` needs {field}", fix=fix)
    return value


def environment_parameters(
    settings: Settings, phases: list[Phase], certificate_arn: str | None = None
) -> dict[str, str]:
    """The environment template's parameters that snailtrail.yaml decides; ``certificate_arn`` is the sandbox's
    own certificate (an account's is infra.certificate_arn)."""
    service, environment = settings.service, settings.environment
    env_field = f"environments.{settings.environment_name}"
    lb = service.load_balancer
    infra = environment.infra
    listener_port = settings.production_listener_port
    if listener_port == 80:
        raise ConfigError(
            f"{env_field}: the production listener is on port 80, where the stack's listener redirects to HTTPS",
            fix=f"set {env_field}.traffic.listener_port: 443 (the HTTPS listener the stack creates)",
        )
    names = [n for n in service.network.subnets if not n.startswith("subnet-")]
    task_groups = [n for n in service.network.security_groups if not n.startswith("sg-")]
    domain = settings.domain
    parameters = {
        "ServiceName": service.name,
        "ClusterName": service.cluster,
        "LoadBalancerName": lb.name,
        "TargetGroupName": lb.target_group,
        "AlternateTargetGroupName": lb.alternate,
        "AlbSecurityGroupName": lb.security_group or f"{service.name}-alb",
        "TaskSecurityGroupName": task_groups[0] if task_groups else f"{service.name}-tasks",
        "ExecutionRoleName": role_name(
            _required(settings.execution_role_arn, f"{env_field}.execution_role_arn", "name the role the stack creates")
        ),
        "TaskRoleName": role_name(settings.task_role_arn) if settings.task_role_arn else f"{service.name}-task",
        "LoadBalancerRoleName": role_name(environment.load_balancer_role_arn)
        if environment.load_balancer_role_arn
        else f"{service.name}-ecs-load-balancers",
        "LogGroupName": _required(settings.log_group, f"{env_field}.log_group", "name the log group, say /ecs/shine"),
        "StateTableName": environment.state_table,
        "RepositoryName": service.image_repository,
        "ModelBucketName": _required(
            environment.model_bucket, f"{env_field}.model_bucket", "name the bucket, with the account id in it"
        ),
        "CertificateArn": certificate_arn
        or _required(
            infra.certificate_arn if infra else None,
            f"{env_field}.infra.certificate_arn",
            "request the domain's certificate in ACM (DNS validation) and name its ARN",
        ),
        "ListenerPort": str(listener_port),
        "RulePriority": str((environment.traffic.rule_priority if environment.traffic else None) or 10),
        "ContainerPort": str(_one_value(phases, "container.port", {p.container.port for p in phases})),
        "HealthCheckPath": _one_value(
            phases,
            "container.health_check.path",
            {p.container.health_check.path for p in phases if p.container.health_check},
        ),
        "DomainName": domain.name if domain else "",
        "HostedZoneName": domain.hosted_zone.rstrip(".") if domain else "",
    }
    if lb.test_listener_port is not None:
        parameters["TestListenerPort"] = str(lb.test_listener_port)
    if len(names) == 2:
        parameters["SubnetNames"] = ",".join(names)
    return parameters


def _defaults(template: dict[str, Any]) -> dict[str, str]:
    """The template's defaults, passed explicitly: every parameter of the stack has a value in the change set."""
    defaults = {}
    for name, declared in template.get("Parameters", {}).items():
        if "Default" in declared:
            default = declared["Default"]
            defaults[name] = ",".join(map(str, default)) if isinstance(default, list) else str(default)
    return defaults


def stack_inputs(
    settings: Settings,
    phases: list[Phase],
    certificate_arn: str | None = None,
    overrides: dict[str, str] | None = None,
) -> StackInputs:
    """The environment's stack: snailtrail.yaml's names, the account's own values (infra.parameters), and the
    template's defaults for the rest. A parameter the configuration already decides cannot be set twice.
    ``certificate_arn`` and ``overrides`` are the sandbox's own values (its certificate, its short health checks)."""
    template = load_template(ENVIRONMENT_TEMPLATE)
    derived = environment_parameters(settings, phases, certificate_arn)
    infra = settings.environment.infra
    extra = (dict(infra.parameters) if infra else {}) | (overrides or {})
    field = f"environments.{settings.environment_name}.infra.parameters"
    declared = set(template["Parameters"])
    for key in extra:
        if key not in declared:
            raise ConfigError(
                f"{field}.{key} is not a parameter of the template",
                fix=f"use one of: {', '.join(sorted(declared - set(derived)))}",
            )
        if key in derived:
            raise ConfigError(
                f"{field}.{key} is decided by snailtrail.yaml (it is {derived[key]!r} there)",
                fix=f"remove {key} from {field}; change the configuration's own field instead",
            )
    stack_name = (infra.stack_name if infra else None) or f"{settings.service.name}-{settings.environment_name}"
    return StackInputs(stack_name, template, _defaults(template) | derived | extra)


def configuration_mismatches(settings: Settings, outputs: dict[str, str]) -> list[str]:
    """Where snailtrail.yaml does not name what the stack made (the ARNs the template cannot take as names)."""
    env_field = f"environments.{settings.environment_name}"
    environment = settings.environment
    referred = {
        "ExecutionRoleArn": ("execution_role_arn", settings.execution_role_arn),
        "TaskRoleArn": ("task_role_arn", settings.task_role_arn),
        "LoadBalancerRoleArn": ("load_balancer_role_arn", environment.load_balancer_role_arn),
        "PublicUrl": ("public_url", environment.public_url),
    }
    mismatches = []
    for output, (field, configured) in referred.items():
        made = outputs.get(output)
        if made is not None and configured != made:
            mismatches.append(
                f"{env_field}.{field} is {configured or 'not set'}; the stack made {made}: set it to that"
            )
    return mismatches
