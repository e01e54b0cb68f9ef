"""Adopting a running ECS service: snailtrail.yaml and a first phase manifest read from the account.

Everything is read (DescribeServices, DescribeTaskDefinition, the load balancer, its listeners and
Route 53), nothing is changed. The files describe what runs, so `plan` on them shows no
task-definition and no service change when the running definition has the shape snailtrail
renders; what it cannot express (a non-awsvpc task, a container logging elsewhere) is refused with the reason.
A task of several containers is adopted whole: the load balancer's container is the app (``container:``),
the others go to ``containers:`` with their images, essential flag, dependsOn, health checks, ports,
environment, secrets, mounts and log stream prefix. A one-off task of the adopted phase runs with the revision
the service runs until the first deploy (one_off.adopted); ``before_deploy`` tasks leave no trace in the
account to adopt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snailtrail.aws.ecr import ecr_registry
from snailtrail.aws.elbv2 import RULE_ARN_MARK, Elbv2Api, forward_weights
from snailtrail.aws.session import AwsClients
from snailtrail.config.phases import PhaseManifest
from snailtrail.config.settings import EnvironmentKind, ProjectConfig
from snailtrail.config.validation import validate_model
from snailtrail.errors import ConfigError
from snailtrail.run.native_setup import refuse_foreign_controller

MANIFEST_NAME = "phase-1-adopted.yaml"


@dataclass(frozen=True)
class Adopted:
    config: dict[str, Any]  # snailtrail.yaml
    manifest: dict[str, Any]  # phases/phase-1-adopted.yaml
    image: str  # the running image: `plan phase-1 --image IMAGE` compares like with like


def parse_target(target: str) -> tuple[str, str]:
    cluster, _, service = target.partition("/")
    if not cluster or not service or "/" in service:
        raise ConfigError(
            f"--from-service {target!r} is not CLUSTER/SERVICE", fix="for example: --from-service shine/shine"
        )
    return cluster, service


def adopt(clients: AwsClients, cluster: str, service_name: str, environment: str) -> Adopted:
    ecs = clients.client("ecs")
    described = ecs.describe_services(cluster=cluster, services=[service_name])["services"]
    service = next((s for s in described if s.get("status") == "ACTIVE"), None)
    if service is None:
        raise ConfigError(
            f"no active service {service_name} in cluster {cluster} ({clients.region})",
            fix="check the names (aws ecs list-services --cluster CLUSTER) and the region (--region)",
        )
    refuse_foreign_controller(service_name, service)
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    entry = _load_balancer_entry(service)
    container, others = _containers(definition, entry["containerName"])
    elbv2 = Elbv2Api(clients)
    advanced = entry.get("advancedConfiguration")
    if advanced:
        balancer, group, listener_port, rule_priority = _native_load_balancing(elbv2, entry["targetGroupArn"], advanced)
    else:
        balancer, group, listener_port, rule_priority = _load_balancing(elbv2, entry["targetGroupArn"])
    network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if definition.get("networkMode") != "awsvpc" or not network:
        raise ConfigError(
            f"{service_name} runs in network mode {definition.get('networkMode')}; snailtrail deploys awsvpc tasks",
            fix="move the service to awsvpc networking first",
        )
    image = container["image"]
    registry, repository = _split_image(image)
    service_config: dict[str, Any] = {
        "name": service_name,
        "cluster": cluster,
        "container_name": container["name"],
        "image_repository": repository,
        "launch_type": service.get("launchType") or definition.get("requiresCompatibilities", ["FARGATE"])[0],
        "network": {
            "subnets": network["subnets"],
            "security_groups": network["securityGroups"],
            "assign_public_ip": network.get("assignPublicIp") == "ENABLED",
        },
        "load_balancer": {
            "name": balancer["LoadBalancerName"],
            "target_group": group["TargetGroupName"],
            "listener_port": listener_port,
            **({"security_group": balancer["SecurityGroups"][0]} if balancer.get("SecurityGroups") else {}),
        },
    }
    if definition["family"] != service_name:
        service_config["family"] = definition["family"]
    for key, field in (("executionRoleArn", "execution_role_arn"), ("taskRoleArn", "task_role_arn")):
        if definition.get(key):
            service_config[field] = definition[key]
    log_options = (container.get("logConfiguration") or {}).get("options") or {}
    if (container.get("logConfiguration") or {}).get("logDriver") == "awslogs" and log_options.get("awslogs-group"):
        service_config["log_group"] = log_options["awslogs-group"]
    domain = _domain(clients, balancer["DNSName"])
    if domain is not None:
        service_config["domain"] = domain
    environment_config: dict[str, Any] = {
        "kind": EnvironmentKind.aws.value,
        "region": clients.region,
        "registry": "ecr" if ecr_registry(registry) else registry,
        # Without a runtimePlatform, Fargate runs X86_64: naming it makes the images built for it.
        "cpu_architecture": (definition.get("runtimePlatform") or {}).get("cpuArchitecture", "X86_64"),
    }
    if rule_priority is not None:
        environment_config["traffic"] = {"listener_port": listener_port, "rule_priority": int(rule_priority)}
    if advanced:
        alternate = elbv2.target_groups_by_arn([advanced["alternateTargetGroupArn"]])[0]
        service_config["load_balancer"]["alternate_target_group"] = alternate["TargetGroupName"]
        service_config["load_balancer"]["test_listener_port"] = _rule_listener(elbv2, advanced["testListenerRule"])[0]
        environment_config["load_balancer_role_arn"] = advanced["roleArn"]
    strategy = _strategy(service.get("deploymentConfiguration") or {})
    if strategy is not None:
        environment_config["strategy"] = strategy
    config = {
        "service": service_config,
        "default_environment": environment,
        "environments": {environment: environment_config},
    }
    manifest = _manifest(definition, container, service, group, f"{cluster}/{service_name}")
    if others:
        manifest["containers"] = [_sidecar(c, image, service_config) for c in others]
        manifest["container"] |= _options(container, service_config)
        # The app's own hard limit, when it is not what the task's memory leaves the app.
        left = manifest["container"]["memory"] - sum(int(c.get("memory") or 0) for c in others)
        if container.get("memory") and container["memory"] != left:
            manifest["container"]["container_memory"] = container["memory"]
    validate_model(ProjectConfig, config, Path("snailtrail.yaml"))
    validate_model(PhaseManifest, manifest, Path("phases") / MANIFEST_NAME)
    return Adopted(config, manifest, image)


def _split_image(image: str) -> tuple[str, str]:
    """(registry host, repository) of an image reference, without its tag or digest."""
    name = image.split("@", 1)[0]
    first, _, rest = name.partition("/")
    # The first component is a registry host when it looks like one (Docker's own rule).
    registry, path = (
        (first, rest) if rest and ("." in first or ":" in first or first == "localhost") else ("docker.io", name)
    )
    return registry, path.rsplit(":", 1)[0] if ":" in path.rsplit("/", 1)[-1] else path


def _load_balancer_entry(service: dict[str, Any]) -> dict[str, Any]:
    entries = [e for e in service.get("loadBalancers", []) if e.get("targetGroupArn")]
    if len(entries) != 1:
        raise ConfigError(
            f"{service['serviceName']} has {len(entries)} target groups; snailtrail deploys a service behind "
            "exactly one (blue-green, canary and linear use its advancedConfiguration's alternate group)",
            fix="adopt a service registered with one application load balancer target group",
        )
    return entries[0]


def _containers(definition: dict[str, Any], name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The load balancer's container (the app) and the task's others."""
    containers = definition["containerDefinitions"]
    app = next((c for c in containers if c["name"] == name), None)
    if app is None:
        raise ConfigError(
            f"the load balancer sends traffic to container {name}, which {definition['family']} does not define",
            fix="adopt a service whose load balancer names one of its task's containers",
        )
    return app, [c for c in containers if c is not app]


def _options(container: dict[str, Any], service_config: dict[str, Any]) -> dict[str, Any]:
    """What any container of a task of several may set, as the manifest writes it (empty keys left out)."""
    check = container.get("healthCheck")
    options: dict[str, Any] = {
        "depends_on": {d["containerName"]: d["condition"] for d in container.get("dependsOn") or []},
        "mounts": {m["sourceVolume"]: m["containerPath"] for m in container.get("mountPoints") or []},
    }
    if check:
        options["container_health_check"] = {
            "command": check["command"],
            "interval_s": check.get("interval", 30),
            "timeout_s": check.get("timeout", 5),
            "retries": check.get("retries", 3),
            "start_period_s": check.get("startPeriod", 0),
        }
    logging = container.get("logConfiguration") or {}
    log_options = logging.get("options") or {}
    if not logging:
        options["log"] = {"driver": "none"}
    elif logging.get("logDriver") != "awslogs" or log_options.get("awslogs-group") != service_config.get("log_group"):
        raise ConfigError(
            f"container {container['name']} logs with {logging.get('logDriver')} to "
            f"{log_options.get('awslogs-group', 'elsewhere')}; snailtrail renders awslogs to the service's one "
            f"log group ({service_config.get('log_group')})",
            fix="move the container's logs to that group first, or write its manifest by hand",
        )
    elif log_options.get("awslogs-stream-prefix") != service_config["name"]:
        options["log"] = {"stream_prefix": log_options.get("awslogs-stream-prefix")}
    return {key: value for key, value in options.items() if value}


def _sidecar(container: dict[str, Any], app_image: str, service_config: dict[str, Any]) -> dict[str, Any]:
    """A container beside the app, as the manifest's ``containers:`` entry that renders it again."""
    spec: dict[str, Any] = {"name": container["name"], "essential": container.get("essential", True)}
    if container.get("image") != app_image:
        spec["image"] = {"reference": container["image"]}
    spec |= {
        "command": container.get("command"),
        "ports": [m["containerPort"] for m in container.get("portMappings") or []],
        "environment": {e["name"]: e["value"] for e in container.get("environment") or []},
        "secrets": {s["name"]: s["valueFrom"] for s in container.get("secrets") or []},
        "memory": container.get("memory"),
        "cpu": container.get("cpu"),
    }
    return {key: value for key, value in spec.items() if value not in (None, [], {})} | _options(
        container, service_config
    )


def _load_balancing(elbv2: Elbv2Api, target_group_arn: str) -> tuple[dict[str, Any], dict[str, Any], int, str | None]:
    """The target group, its load balancer, and the one listener (or rule) forwarding to it."""
    group = elbv2.target_groups_by_arn([target_group_arn])[0]
    balancers = sorted(set(group.get("LoadBalancerArns", [])))
    if len(balancers) != 1:
        raise ConfigError(
            f"target group {group['TargetGroupName']} is attached to {len(balancers)} load balancers; "
            "snailtrail follows exactly one",
            fix="attach it to one application load balancer",
        )
    balancer = elbv2.load_balancers_by_arn(balancers)[0]
    found = forwarders(elbv2, balancer["LoadBalancerArn"], target_group_arn)
    if len(found) != 1:
        where = ", ".join(map(str, found)) or "no listener"
        raise ConfigError(
            f"{where} of {balancer['LoadBalancerName']} forwards to {group['TargetGroupName']}; "
            "snailtrail moves traffic in exactly one forward",
            fix="write snailtrail.yaml by hand, naming the listener that carries users in environments.<name>.traffic",
        )
    return balancer, group, found[0].port, found[0].rule_priority


def _native_load_balancing(
    elbv2: Elbv2Api, target_group_arn: str, advanced: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], int, str | None]:
    """A service with a native strategy: its production listener rule says where users arrive."""
    group = elbv2.target_groups_by_arn([target_group_arn])[0]
    port, priority = _rule_listener(elbv2, advanced["productionListenerRule"])
    balancer = elbv2.load_balancers_by_arn(sorted(set(group.get("LoadBalancerArns", []))))[0]
    return balancer, group, port, priority


def _rule_listener(elbv2: Elbv2Api, rule_arn: str) -> tuple[int, str]:
    """The port of the listener a rule belongs to, and the rule's priority (a rule's ARN names its listener)."""
    rule = elbv2.rule(rule_arn)
    listener_arn = rule_arn.replace(RULE_ARN_MARK, ":listener/").rsplit("/", 1)[0]
    return elbv2.listener_by_arn(listener_arn)["Port"], rule["Priority"]


def _strategy(configuration: dict[str, Any]) -> dict[str, Any] | None:
    """The service's native strategy as snailtrail.yaml spells it; None for ROLLING."""
    kinds = {"BLUE_GREEN": "blue-green", "CANARY": "canary", "LINEAR": "linear"}
    kind = kinds.get(configuration.get("strategy") or "ROLLING")
    if kind is None:
        return None
    strategy: dict[str, Any] = {"kind": kind, "bake_minutes": configuration.get("bakeTimeInMinutes", 0)}
    canary, linear = configuration.get("canaryConfiguration"), configuration.get("linearConfiguration")
    if canary:
        strategy["canary"] = {"percent": canary["canaryPercent"], "bake_minutes": canary["canaryBakeTimeInMinutes"]}
    if linear:
        strategy["linear"] = {
            "step_percent": linear["stepPercent"],
            "step_bake_minutes": linear["stepBakeTimeInMinutes"],
        }
    alarms = configuration.get("alarms") or {}
    if alarms.get("enable") and alarms.get("alarmNames"):
        strategy["alarms"] = list(alarms["alarmNames"])
    return strategy


@dataclass(frozen=True)
class Forwarder:
    """A listener, or one of its rules, whose forward sends traffic to a target group."""

    port: int
    rule_priority: str | None  # None: the listener's default actions

    def __str__(self) -> str:
        return f"listener {self.port}" + (f" rule {self.rule_priority}" if self.rule_priority else "")


def forwarders(elbv2: Elbv2Api, balancer_arn: str, target_group_arn: str) -> list[Forwarder]:
    """Every listener and rule of the load balancer whose forward gives the target group traffic."""
    found = []
    for listener in elbv2.listeners(balancer_arn):
        if forward_weights(listener["DefaultActions"]).get(target_group_arn, 0) > 0:
            found.append(Forwarder(listener["Port"], None))
        for rule in elbv2.rules(listener["ListenerArn"]):
            if not rule.get("IsDefault") and forward_weights(rule["Actions"]).get(target_group_arn, 0) > 0:
                found.append(Forwarder(listener["Port"], rule["Priority"]))
    return found


def _domain(clients: AwsClients, balancer_dns: str) -> dict[str, str] | None:
    """The public Route 53 record that aliases (or CNAMEs) the load balancer, if there is one."""
    route53 = clients.client("route53")
    wanted = balancer_dns.rstrip(".").lower()
    for page in route53.get_paginator("list_hosted_zones").paginate():
        for zone in page["HostedZones"]:
            if (zone.get("Config") or {}).get("PrivateZone"):
                continue
            records = route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone["Id"])
            for record in (r for p in records for r in p["ResourceRecordSets"]):
                target = (record.get("AliasTarget") or {}).get("DNSName") or next(
                    (r["Value"] for r in record.get("ResourceRecords", []) if record["Type"] == "CNAME"), ""
                )
                if target.rstrip(".").lower().removeprefix("dualstack.") == wanted:
                    return {"name": record["Name"].rstrip("."), "hosted_zone": zone["Name"].rstrip(".")}
    return None


def _manifest(
    definition: dict[str, Any], container: dict[str, Any], service: dict[str, Any], group: dict[str, Any], source: str
) -> dict[str, Any]:
    mappings = container.get("portMappings") or []
    if not mappings:
        raise ConfigError(f"container {container['name']} maps no port", fix="adopt a service that serves HTTP")
    spec: dict[str, Any] = {
        "port": mappings[0]["containerPort"],
        "environment": {e["name"]: e["value"] for e in container.get("environment", [])},
        "secrets": {s["name"]: s["valueFrom"] for s in container.get("secrets", [])},
        "cpu": int(definition.get("cpu") or 256),
        "memory": int(definition.get("memory") or container.get("memory") or 512),
        "health_check": {
            "path": group.get("HealthCheckPath") or "/",
            "grace_period_s": service.get("healthCheckGracePeriodSeconds") or 0,
        },
        "desired_count": service["desiredCount"],
    }
    if container.get("command"):
        spec["command"] = container["command"]
    return {
        "description": f"adopted from {source} ({definition['taskDefinitionArn'].rsplit('/', 1)[-1]})",
        # snailtrail builds images from here: point it at the service's own Dockerfile.
        "image": {"dockerfile": "Dockerfile", "context": "."},
        "container": spec,
        "success": {"http": [{"path": spec["health_check"]["path"], "status": 200}]},
    }
