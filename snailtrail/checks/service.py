"""Cluster, service, task definition, roles, logs, secrets and image checks."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

from snailtrail.aws.ecr import ecr_registry
from snailtrail.checks.base import Verdict, fail, ok, skip, warn
from snailtrail.checks.registry import NOT_IN_REGISTRY
from snailtrail.checks.spec import check
from snailtrail.checks.view import LiveView
from snailtrail.config.phases import Phase
from snailtrail.errors import ConfigError
from snailtrail.run.native_setup import JUDGED_STAGES, NativeSetup, resolve_native_setup

SMOKE_SECONDS = re.compile(r"after ([0-9.]+) s")


@check("cluster exists", "service", prevents="1: the deploy waited on a cluster or service that did not exist")
def cluster_exists(view: LiveView, phase: Phase | None) -> Verdict:
    """The configured cluster exists and is ACTIVE."""
    name = view.settings.service.cluster
    cluster = view.cluster()
    if cluster is None or cluster.get("status") != "ACTIVE":
        return fail(
            f"cluster {name} {'is ' + cluster['status'] if cluster else 'not found'}",
            f"create cluster {name}, or fix service.cluster",
        )
    return ok(f"cluster {name} is ACTIVE", [cluster["clusterArn"]])


@check("service active", "service", prevents="1: the ECS service did not exist in the cluster")
def service_active(view: LiveView, phase: Phase | None) -> Verdict:
    """The service exists in the cluster and is ACTIVE."""
    service = view.service()
    name = view.settings.service.name
    if service is None:
        return fail(
            f"service {name} does not exist in cluster {view.settings.service.cluster}",
            f"snailtrail deploy {phase.name if phase else 'PHASE'} --yes creates it from the manifest",
        )
    if service.get("status") != "ACTIVE":
        return fail(
            f"service {name} is {service.get('status')}, not ACTIVE",
            "it is being deleted: recreate it with snailtrail deploy PHASE --yes",
            [service["serviceArn"]],
        )
    return ok(
        f"{name}: {service['status']}, {service.get('runningCount', 0)}/{service.get('desiredCount', 0)} running",
        [service["serviceArn"]],
    )


@check("verified revision", "service", prevents="13: the running revision had never been verified")
def verified_revision(view: LiveView, phase: Phase | None) -> Verdict:
    """The running task definition belongs to the expected phase and is tagged verified."""
    revision = view.running_revision()
    if revision is None:
        return fail("no task definition runs", "deploy a phase")
    short = revision.arn.rsplit("/", 1)[-1]
    if phase is not None and revision.phase != phase.name:
        return fail(
            f"{short} is {revision.phase or 'not a snailtrail deployment'}, expected {phase.name}",
            f"snailtrail deploy {phase.name}",
            [revision.arn],
        )
    if not revision.verified_at:
        return fail(
            f"{short} ({revision.phase}) was never verified",
            "roll back to a verified revision (snailtrail rollback) or deploy again",
            [revision.arn],
        )
    return ok(f"{short} ({revision.phase}) verified {revision.verified_at}", [revision.arn])


@check(
    "awsvpc configuration", "service", prevents="3: empty networkBindings for awsvpc tasks sent people chasing a ghost"
)
def awsvpc_configuration(view: LiveView, phase: Phase | None) -> Verdict:
    """The service has an awsvpc network configuration (subnets, security groups). awsvpc tasks are judged by probes
    and target health, never by networkBindings."""
    awsvpc = view.awsvpc()
    if not awsvpc.get("subnets") or not awsvpc.get("securityGroups"):
        return fail(
            "the service has no awsvpc subnets or security groups",
            "recreate the service with networkConfiguration.awsvpcConfiguration",
        )
    return ok(
        f"{len(awsvpc['subnets'])} subnet(s), groups "
        f"{', '.join(awsvpc['securityGroups'])}, public IP {awsvpc.get('assignPublicIp', 'DISABLED')} "
        "(tasks are judged by target health, not networkBindings)",
        list(awsvpc["subnets"]),
    )


@check(
    "load balancer entries", "service", prevents="10: the service named a container or port the task definition lacked"
)
def load_balancer_entries(view: LiveView, phase: Phase | None) -> Verdict:
    """Every loadBalancers[] entry of the service names a container and port the task definition maps, and a target
    group that exists."""
    service = view.service()
    revision = view.running_revision()
    if service is None or revision is None:
        return skip("no service or task definition to compare")
    containers = {
        c["name"]: {m["containerPort"] for m in c.get("portMappings", [])}
        for c in revision.definition["containerDefinitions"]
    }
    entries = service.get("loadBalancers", [])
    if not entries:
        return fail(
            "the service has no load balancer entries",
            f"attach target group {view.settings.service.load_balancer.target_group} to the service",
        )
    group = view.target_group()
    problems = []
    for entry in entries:
        name, port = entry.get("containerName"), entry.get("containerPort")
        if name not in containers:
            problems.append(
                f"container {name} is not in {revision.arn.rsplit('/', 1)[-1]} (has {', '.join(containers)})"
            )
        elif port not in containers[name]:
            problems.append(f"container {name} maps {sorted(containers[name])}, not port {port}")
        if group is None or entry.get("targetGroupArn") != group["TargetGroupArn"]:
            problems.append(f"entry targets {entry.get('targetGroupArn')}, not the configured target group")
    if problems:
        return fail(
            "; ".join(problems),
            "make the task definition's container name and port mapping match the service's load balancer entry",
            [service["serviceArn"]],
        )
    return ok(f"{len(entries)} entry(ies) match the task definition", [service["serviceArn"]])


@check("grace period", "service", prevents="7: containers missed health checks during a slow start-up")
def grace_period(view: LiveView, phase: Phase | None) -> Verdict:
    """The service's health-check grace period covers the start-up time smoke measured."""
    service = view.service()
    if service is None:
        return skip("no service")
    grace = service.get("healthCheckGracePeriodSeconds")
    measured = None
    for event in reversed(view.trail_events()):
        if (event.get("data") or {}).get("step") == "smoke" and event.get("ok"):
            match = SMOKE_SECONDS.search(event.get("detail", ""))
            if match:
                measured = float(match[1])
                break
    if measured is None:
        return skip(f"grace period {grace} s; no smoke measurement in the trail yet")
    if grace is None or grace < measured:
        return warn(
            f"grace period {grace} s is shorter than the measured start-up ({measured:.1f} s)",
            f"raise health_check.grace_period_s above {measured:.0f} s",
            [service["serviceArn"]],
        )
    return ok(f"grace period {grace} s covers the measured start-up ({measured:.1f} s)", [service["serviceArn"]])


@check("roles", "service", prevents="task or execution role missing or not assumable by ECS")
def roles(view: LiveView, phase: Phase | None) -> Verdict:
    """The task and execution roles exist and trust ecs-tasks.amazonaws.com."""
    revision = view.running_revision()
    arns = [revision.definition.get(k) for k in ("taskRoleArn", "executionRoleArn")] if revision else []
    return judge_roles(view, [a for a in arns if a], "the task definition names no roles")


def judge_roles(view: LiveView, arns: list[str], when_none: str) -> Verdict:
    """The "roles" result for these role ARNs: each must exist and trust ecs-tasks.amazonaws.com."""
    if not arns:
        return skip(when_none)
    problems = [problem for arn in arns if (problem := _task_role_problem(view, arn))]
    if problems:
        return fail("; ".join(problems), "create the role with a trust policy for ecs-tasks.amazonaws.com", arns)
    return ok(f"{len(arns)} role(s) exist and trust ecs-tasks", arns)


def _task_role_problem(view: LiveView, arn: str) -> str | None:
    """Why ECS tasks could not assume the role ``arn``, or None when they can."""
    role = view.role(arn)
    if role is None:
        return f"{arn} does not exist"
    policy = role.get("AssumeRolePolicyDocument") or {}
    if isinstance(policy, str):
        policy = json.loads(urllib.request.unquote(policy))
    if "ecs-tasks.amazonaws.com" not in json.dumps(policy):
        return f"{arn} does not trust ecs-tasks.amazonaws.com"
    return None


@check("log group", "container", prevents="logs missing when they were needed")
def log_group(view: LiveView, phase: Phase | None) -> Verdict:
    """The awslogs group the container writes to exists."""
    revision = view.running_revision()
    if revision is None:
        return skip("no task definition")
    options = (revision.definition["containerDefinitions"][0].get("logConfiguration") or {}).get("options") or {}
    name = options.get("awslogs-group")
    if not name:
        return skip("the container has no awslogs configuration")
    if not view.log_group_exists(name):
        return fail(
            f"log group {name} does not exist", f"create it: aws logs create-log-group --log-group-name {name}", [name]
        )
    return ok(f"log group {name} exists", [name])


@check("secrets exist", "container", prevents="a referenced secret did not exist and tasks failed to start")
def secrets_exist(view: LiveView, phase: Phase | None) -> Verdict:
    """Every secret the task definition references exists (SSM Parameter Store or Secrets Manager)."""
    revision = view.running_revision()
    secrets = revision.definition["containerDefinitions"][0].get("secrets", []) if revision else []
    if not secrets:
        return skip("no secrets referenced")
    missing = [f"{s['name']} ({s['valueFrom']})" for s in secrets if not view.secret_exists(s["valueFrom"])]
    if missing:
        return fail(
            f"missing: {', '.join(missing)}", "create them, or fix container.secrets", [s["valueFrom"] for s in secrets]
        )
    return ok(f"{len(secrets)} secret(s) exist (values never read)", [s["valueFrom"] for s in secrets])


def ecr_image_missing(view: LiveView, reference: str) -> str | None:
    """Why ``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY@DIGEST`` (or a FIPS or dual-stack host of it) is not
    in ECR, or None when it is; asked in the registry's own account and region."""
    registry = ecr_registry(reference)
    assert registry is not None, reference
    repository, _, digest = reference.partition("/")[2].partition("@")
    error = view.ecr_image_error(registry, repository, digest)
    return None if error is None else f"{reference} is not in ECR ({error})"


def image_missing(view: LiveView, reference: str) -> str | None:
    """Why an image referenced by digest is not in its registry (ECR or a v2 registry), or None when it is
    there or the registry cannot be asked; image config and rollback readiness share the one answer."""
    if ecr_registry(reference) is not None:
        return ecr_image_missing(view, reference)
    config, problem = view.registry_config(reference)
    return problem if config is None and problem and NOT_IN_REGISTRY in problem else None


@check("image config", "container", prevents="6: the image hard-coded PORT and ignored the task definition's")
def image_config(view: LiveView, phase: Phase | None) -> Verdict:
    """The image exists in the registry by digest, and its config (exposed ports, env, user) agrees with the task
    definition; warns on a hard-coded PORT or a root user."""
    revision = view.running_revision()
    if revision is None:
        return skip("no task definition")
    reference = revision.image
    if "@sha256:" not in reference:
        return warn(
            f"{reference} is referenced by tag, not digest: what runs can change under it",
            "deploy through snailtrail (it references the pushed digest)",
            [reference],
        )
    missing = image_missing(view, reference)
    if missing is not None:
        return fail(missing, "push the image again, or roll back", [reference])
    if ecr_registry(reference) is not None:
        return ok(f"{reference} exists in ECR", [reference])
    config, problem = view.registry_config(reference)
    if config is None:
        # A registry that wants TLS or a token is not a broken deployment: say what could not be seen.
        return warn(
            f"image config not checked: {problem}",
            "let verify reach the registry anonymously over http (a local registry), or check by hand",
            [reference],
        )
    container = revision.definition["containerDefinitions"][0]
    port = container["portMappings"][0]["containerPort"]
    baked = dict(e.split("=", 1) for e in config.get("Env") or [] if "=" in e)
    notes = []
    if "PORT" in baked and baked["PORT"] != str(port):
        notes.append(
            f"the image bakes PORT={baked['PORT']} (the task definition's PORT={port} overrides it only if "
            "the app reads $PORT)"
        )
    exposed = [int(p.split("/")[0]) for p in (config.get("ExposedPorts") or {})]
    if exposed and port not in exposed:
        notes.append(f"the image exposes {exposed}, the task definition maps {port}")
    if config.get("User") in (None, "", "root", "0"):
        notes.append("the image runs as root")
    if notes:
        return warn("; ".join(notes), "set USER to a non-root user and read the port from $PORT", [reference])
    return ok(
        f"{reference.rsplit('/', 1)[-1][:40]}… exists; user {config.get('User')}, no conflicting port", [reference]
    )


LOAD_BALANCER_POLICY = "AmazonECSInfrastructureRolePolicyForLoadBalancers"


@check(
    "native deployment",
    "service",
    prevents="a blue-green, canary or linear deploy ECS refuses, or whose traffic moves to the wrong group",
)
def native_deployment(view: LiveView, phase: Phase | None) -> Verdict:
    """For blue-green, canary and linear: the alternate target group, the production and test listener rules
    forwarding to both groups, the load-balancer role (trusting ecs.amazonaws.com, with
    AmazonECSInfrastructureRolePolicyForLoadBalancers), and on a service deployed natively its
    advancedConfiguration naming them and snailtrail's PAUSE hooks with timeout action ROLLBACK."""
    service = view.service() or {}
    configuration = service.get("deploymentConfiguration") or {}
    native_service = configuration.get("strategy", "ROLLING") != "ROLLING"
    if not native_service and view.settings.service.load_balancer.test_listener_port is None:
        return skip("the service deploys ROLLING and no test listener is configured")
    try:
        setup = resolve_native_setup(view.ctx, view.load_balancing)
    except ConfigError as missing:
        return fail(missing.message, missing.fix or "see docs/operations.md, blue-green, canary and linear deploys")
    problems = _role_problems(view, setup.role_arn)
    if native_service:
        hold = (view.settings.environment.strategy or None) and view.settings.environment.strategy.hold
        problems += _service_problems(service, setup, held=hold is not None and hold.on_timeout.value == "CONTINUE")
    resources = [setup.production_rule, setup.test_rule, setup.alternate_target_group, setup.role_arn]
    if problems:
        return fail("; ".join(problems), "`snailtrail sandbox up` or the CloudFormation template sets it up", resources)
    how = configuration.get("strategy", "ROLLING")
    return ok(f"rules, groups and role ready for native deployments (the service deploys {how})", resources)


def _role_problems(view: LiveView, arn: str) -> list[str]:
    role = view.role(arn)
    if role is None:
        return [f"the load-balancer role {arn} does not exist"]
    problems = []
    policy = role.get("AssumeRolePolicyDocument") or {}
    if isinstance(policy, str):
        policy = json.loads(urllib.request.unquote(policy))
    if "ecs.amazonaws.com" not in json.dumps(policy):
        problems.append(f"{arn} does not trust ecs.amazonaws.com")
    if LOAD_BALANCER_POLICY not in view.role_policies(arn):
        problems.append(f"{arn} has no policy {LOAD_BALANCER_POLICY} (attached, or its statements inline)")
    return problems


def _service_problems(service: dict[str, Any], setup: NativeSetup, held: bool) -> list[str]:
    """``held``: the configuration asks a manual hold to CONTINUE on timeout (at POST_TEST_TRAFFIC_SHIFT)."""
    problems = []
    entries = [e.get("advancedConfiguration") or {} for e in service.get("loadBalancers", [])]
    wanted = {
        "alternateTargetGroupArn": setup.alternate_target_group,
        "productionListenerRule": setup.production_rule,
        "testListenerRule": setup.test_rule,
        "roleArn": setup.role_arn,
    }
    for key, value in wanted.items():
        if not any(entry.get(key) == value for entry in entries):
            problems.append(f"the service's advancedConfiguration.{key} is not {value}")
    hooks = (service.get("deploymentConfiguration") or {}).get("lifecycleHooks") or []
    for stage in JUDGED_STAGES:
        paused = [h for h in hooks if h.get("targetType") == "PAUSE" and stage in (h.get("lifecycleStages") or [])]
        if not paused:
            problems.append(f"no PAUSE hook at {stage}: snailtrail could not judge there")
        elif not (held and stage == JUDGED_STAGES[0]) and any(
            (h.get("timeoutConfiguration") or {}).get("action", "ROLLBACK") != "ROLLBACK" for h in paused
        ):
            problems.append(f"the PAUSE hook at {stage} continues on timeout: a dead judge would let it through")
    return problems
