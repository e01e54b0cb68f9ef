"""Cluster, service, task definition, roles, logs, secrets and image checks."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

from botocore.exceptions import ClientError

from snailtrail.checks.base import CheckResult, failed, passed, skipped, warned
from snailtrail.checks.catalogue import check
from snailtrail.checks.view import LiveView
from snailtrail.phases import Phase

SMOKE_SECONDS = re.compile(r"after ([0-9.]+) s")


@check(
    "cluster exists",
    "service",
    "1: the deploy waited on a cluster or service that did not exist",
    "The configured cluster exists and is ACTIVE.",
)
def cluster_exists(view: LiveView, phase: Phase | None) -> CheckResult:
    name = view.settings.service.cluster
    cluster = view.cluster()
    if cluster is None or cluster.get("status") != "ACTIVE":
        return failed(
            "cluster exists",
            f"cluster {name} {'is ' + cluster['status'] if cluster else 'not found'}",
            f"create cluster {name}, or fix service.cluster",
        )
    return passed("cluster exists", f"cluster {name} is ACTIVE", [cluster["clusterArn"]])


@check(
    "service active",
    "service",
    "1: the ECS service did not exist in the cluster",
    "The service exists in the cluster and is ACTIVE.",
)
def service_active(view: LiveView, phase: Phase | None) -> CheckResult:
    service = view.service()
    name = view.settings.service.name
    if service is None:
        return failed(
            "service active",
            f"service {name} does not exist in cluster {view.settings.service.cluster}",
            f"snailtrail deploy {phase.name if phase else 'PHASE'} --yes creates it from the manifest",
        )
    if service.get("status") != "ACTIVE":
        return failed(
            "service active",
            f"service {name} is {service.get('status')}, not ACTIVE",
            "it is being deleted: recreate it with snailtrail deploy PHASE --yes",
            [service["serviceArn"]],
        )
    return passed(
        "service active",
        f"{name}: {service['status']}, {service.get('runningCount', 0)}/{service.get('desiredCount', 0)} running",
        [service["serviceArn"]],
    )


@check(
    "verified revision",
    "service",
    "13: the running revision had never been verified",
    "The running task definition belongs to the expected phase and is tagged verified.",
)
def verified_revision(view: LiveView, phase: Phase | None) -> CheckResult:
    revision = view.running_revision()
    if revision is None:
        return failed("verified revision", "no task definition runs", "deploy a phase")
    short = revision.arn.rsplit("/", 1)[-1]
    if phase is not None and revision.phase != phase.name:
        return failed(
            "verified revision",
            f"{short} is {revision.phase or 'not a snailtrail deployment'}, expected {phase.name}",
            f"snailtrail deploy {phase.name}",
            [revision.arn],
        )
    if not revision.verified_at:
        return failed(
            "verified revision",
            f"{short} ({revision.phase}) was never verified",
            "roll back to a verified revision (snailtrail rollback) or deploy again",
            [revision.arn],
        )
    return passed("verified revision", f"{short} ({revision.phase}) verified {revision.verified_at}", [revision.arn])


@check(
    "awsvpc configuration",
    "service",
    "3: empty networkBindings for awsvpc tasks sent people chasing a ghost",
    "The service has an awsvpc network configuration (subnets, security groups). awsvpc tasks are judged by "
    "probes and target health, never by networkBindings.",
)
def awsvpc_configuration(view: LiveView, phase: Phase | None) -> CheckResult:
    awsvpc = view.awsvpc()
    if not awsvpc.get("subnets") or not awsvpc.get("securityGroups"):
        return failed(
            "awsvpc configuration",
            "the service has no awsvpc subnets or security groups",
            "recreate the service with networkConfiguration.awsvpcConfiguration",
        )
    return passed(
        "awsvpc configuration",
        f"{len(awsvpc['subnets'])} subnet(s), groups "
        f"{', '.join(awsvpc['securityGroups'])}, public IP {awsvpc.get('assignPublicIp', 'DISABLED')} "
        "(tasks are judged by target health, not networkBindings)",
        list(awsvpc["subnets"]),
    )


@check(
    "load balancer entries",
    "service",
    "10: the service named a container or port the task definition lacked",
    "Every loadBalancers[] entry of the service names a container and port the task definition maps, and a "
    "target group that exists.",
)
def load_balancer_entries(view: LiveView, phase: Phase | None) -> CheckResult:
    service = view.service()
    revision = view.running_revision()
    if service is None or revision is None:
        return skipped("load balancer entries", "no service or task definition to compare")
    containers = {
        c["name"]: {m["containerPort"] for m in c.get("portMappings", [])}
        for c in revision.definition["containerDefinitions"]
    }
    entries = service.get("loadBalancers", [])
    if not entries:
        return failed(
            "load balancer entries",
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
        return failed(
            "load balancer entries",
            "; ".join(problems),
            "make the task definition's container name and port mapping match the service's load balancer entry",
            [service["serviceArn"]],
        )
    return passed(
        "load balancer entries", f"{len(entries)} entry(ies) match the task definition", [service["serviceArn"]]
    )


@check(
    "grace period",
    "service",
    "7: containers missed health checks during a slow start-up",
    "The service's health-check grace period covers the start-up time smoke measured.",
)
def grace_period(view: LiveView, phase: Phase | None) -> CheckResult:
    service = view.service()
    if service is None:
        return skipped("grace period", "no service")
    grace = service.get("healthCheckGracePeriodSeconds")
    measured = None
    for event in reversed(view.trail_events()):
        if (event.get("data") or {}).get("step") == "smoke" and event.get("ok"):
            match = SMOKE_SECONDS.search(event.get("detail", ""))
            if match:
                measured = float(match[1])
                break
    if measured is None:
        return skipped("grace period", f"grace period {grace} s; no smoke measurement in the trail yet")
    if grace is None or grace < measured:
        return warned(
            "grace period",
            f"grace period {grace} s is shorter than the measured start-up ({measured:.1f} s)",
            f"raise health_check.grace_period_s above {measured:.0f} s",
            [service["serviceArn"]],
        )
    return passed(
        "grace period",
        f"grace period {grace} s covers the measured start-up ({measured:.1f} s)",
        [service["serviceArn"]],
    )


@check(
    "roles",
    "service",
    "task or execution role missing or not assumable by ECS",
    "The task and execution roles exist and trust ecs-tasks.amazonaws.com.",
)
def roles(view: LiveView, phase: Phase | None) -> CheckResult:
    revision = view.running_revision()
    arns = [revision.definition.get(k) for k in ("taskRoleArn", "executionRoleArn")] if revision else []
    return judge_roles(view, [a for a in arns if a], "the task definition names no roles")


def judge_roles(view: LiveView, arns: list[str], when_none: str) -> CheckResult:
    """The "roles" result for these role ARNs: each must exist and trust ecs-tasks.amazonaws.com."""
    if not arns:
        return skipped("roles", when_none)
    problems = [problem for arn in arns if (problem := _task_role_problem(view, arn))]
    if problems:
        return failed(
            "roles", "; ".join(problems), "create the role with a trust policy for ecs-tasks.amazonaws.com", arns
        )
    return passed("roles", f"{len(arns)} role(s) exist and trust ecs-tasks", arns)


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


@check(
    "log group", "container", "logs missing when they were needed", "The awslogs group the container writes to exists."
)
def log_group(view: LiveView, phase: Phase | None) -> CheckResult:
    revision = view.running_revision()
    if revision is None:
        return skipped("log group", "no task definition")
    options = (revision.definition["containerDefinitions"][0].get("logConfiguration") or {}).get("options") or {}
    name = options.get("awslogs-group")
    if not name:
        return skipped("log group", "the container has no awslogs configuration")
    if not view.log_group_exists(name):
        return failed(
            "log group",
            f"log group {name} does not exist",
            f"create it: aws logs create-log-group --log-group-name {name}",
            [name],
        )
    return passed("log group", f"log group {name} exists", [name])


def secret_exists(view: LiveView, value_from: str) -> bool:
    """Existence only, through describe calls: verify never reads a secret's value.

    ECS takes a Secrets Manager secret as its ARN, optionally followed by
    ``:json-key:version-stage:version-id``, and an SSM parameter as its ARN or, in the task's own
    region, its bare name (ECS developer guide, "Pass sensitive data to an Amazon ECS container").
    """
    if ":secretsmanager:" in value_from:
        try:
            # arn:aws:secretsmanager:region:account:secret:name-AbCdEf[:json-key:version-stage:version-id]
            view._client("secretsmanager").describe_secret(SecretId=":".join(value_from.split(":")[:7]))
        except ClientError as exc:
            # Only "not found" means missing; a refusal or throttling is an error the check reports as such.
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            return False
        return True
    # A page may hold fewer results than asked, even none, and still carry a NextToken (SSM API reference,
    # DescribeParameters): only the paginator reads them all.
    pages = (
        view._client("ssm")
        .get_paginator("describe_parameters")
        .paginate(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": _parameter_names(value_from)}])
    )
    return any(page["Parameters"] for page in pages)


def _parameter_names(value_from: str) -> list[str]:
    """The parameter names a valueFrom can mean: the ARN of ``name`` and of ``/name`` both end in
    ``parameter/name``, so an ARN is looked up both ways; a bare name is the name itself."""
    if ":parameter" not in value_from:
        return [value_from]
    name = value_from.split(":parameter", 1)[1].lstrip("/")
    return [name, f"/{name}"]


@check(
    "secrets exist",
    "container",
    "a referenced secret did not exist and tasks failed to start",
    "Every secret the task definition references exists (SSM Parameter Store or Secrets Manager).",
)
def secrets_exist(view: LiveView, phase: Phase | None) -> CheckResult:
    revision = view.running_revision()
    secrets = revision.definition["containerDefinitions"][0].get("secrets", []) if revision else []
    if not secrets:
        return skipped("secrets exist", "no secrets referenced")
    missing = [f"{s['name']} ({s['valueFrom']})" for s in secrets if not secret_exists(view, s["valueFrom"])]
    if missing:
        return failed(
            "secrets exist",
            f"missing: {', '.join(missing)}",
            "create them, or fix container.secrets",
            [s["valueFrom"] for s in secrets],
        )
    return passed(
        "secrets exist", f"{len(secrets)} secret(s) exist (values never read)", [s["valueFrom"] for s in secrets]
    )


def registry_base_url(host: str) -> str:
    """https for every registry but the sandbox's on loopback, which serves plain http."""
    import ipaddress
    from urllib.parse import urlsplit

    name = urlsplit(f"//{host}").hostname or host
    try:
        loopback = name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = False
    return f"{'http' if loopback else 'https'}://{host}"


def registry_config(reference: str) -> tuple[dict[str, Any] | None, str | None]:
    """The image config of host/repo@digest from a registry's v2 API, or why it could not be read."""
    host, _, rest = reference.partition("/")
    repository, _, digest = rest.partition("@")
    accept = ", ".join(
        ["application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json"]
    )
    try:
        manifest_url = f"{registry_base_url(host)}/v2/{repository}/manifests/{digest}"
        request = urllib.request.Request(manifest_url, headers={"Accept": accept})  # noqa: S310 - http(s) only
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - http(s) only
            manifest = json.loads(answer.read())
        config_digest = manifest["config"]["digest"]
        blob = f"{registry_base_url(host)}/v2/{repository}/blobs/{config_digest}"
        with urllib.request.urlopen(blob, timeout=5) as answer:  # noqa: S310 - http(s) only
            return json.loads(answer.read()).get("config") or {}, None
    except urllib.error.HTTPError as exc:
        # The distribution API's error codes say "missing" even where the status is 401 (Docker Hub).
        body = exc.read(2000).decode(errors="replace")
        if exc.code == 404 or "MANIFEST_UNKNOWN" in body or "NAME_UNKNOWN" in body:
            return None, f"{reference} is not in the registry (it answered {exc.code})"
        return None, f"the registry answered {exc.code} for {reference}"
    except (OSError, ValueError, KeyError) as exc:
        return None, f"the registry could not be read ({exc})"


def ecr_image_missing(view: LiveView, reference: str) -> str | None:
    """Why ``ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY@DIGEST`` is not in ECR, or None when it is."""
    registry, _, path = reference.partition("/")
    repository, _, digest = path.partition("@")
    try:
        # The image's own registry (its account): without registryId, ECR looks in the caller's account,
        # and an image shared from another account would be reported missing.
        view._client("ecr").describe_images(
            registryId=registry.split(".", 1)[0], repositoryName=repository, imageIds=[{"imageDigest": digest}]
        )
    except ClientError as exc:
        return f"{reference} is not in ECR ({exc.response['Error']['Code']})"
    return None


@check(
    "image config",
    "container",
    "6: the image hard-coded PORT and ignored the task definition's",
    "The image exists in the registry by digest, and its config (exposed ports, env, user) agrees with the task "
    "definition; warns on a hard-coded PORT or a root user.",
)
def image_config(view: LiveView, phase: Phase | None) -> CheckResult:
    revision = view.running_revision()
    if revision is None:
        return skipped("image config", "no task definition")
    reference = revision.image
    if "@sha256:" not in reference:
        return warned(
            "image config",
            f"{reference} is referenced by tag, not digest: what runs can change under it",
            "deploy through snailtrail (it references the pushed digest)",
            [reference],
        )
    if ".dkr.ecr." in reference:
        missing = ecr_image_missing(view, reference)
        if missing is not None:
            return failed("image config", missing, "push the image again, or roll back", [reference])
        return passed("image config", f"{reference} exists in ECR", [reference])
    config, problem = registry_config(reference)
    if config is None and problem and "is not in the registry" in problem:
        return failed("image config", problem, "push the image again, or roll back", [reference])
    if config is None:
        # A registry that wants TLS or a token is not a broken deployment: say what could not be seen.
        return warned(
            "image config",
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
        return warned(
            "image config", "; ".join(notes), "set USER to a non-root user and read the port from $PORT", [reference]
        )
    return passed(
        "image config",
        f"{reference.rsplit('/', 1)[-1][:40]}… exists; user {config.get('User')}, no conflicting port",
        [reference],
    )
