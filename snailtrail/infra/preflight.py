"""``snailtrail doctor``: read-only checks that an account is ready for a first deploy.

verify judges a running service; doctor asks whether everything a deploy needs exists before
there is one: the caller and its account, the state table, the cluster, the roles, the ECR
repository, the log group, the target groups' type, and what the environment's stack creates for
traffic (preflight_traffic.py). Each result has verify's
shape (checks/base.py) and each failure its fix.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from snailtrail.checks.base import Verdict, fail, ok, skip, warn
from snailtrail.checks.catalogue import VerifyReport, guarded
from snailtrail.checks.service import judge_roles
from snailtrail.checks.spec import CheckSpec
from snailtrail.checks.view import LiveView
from snailtrail.config.phases import Phase
from snailtrail.infra import preflight_traffic

# The state table's key schema (docs/operations.md creates it so).
STATE_KEYS = {"pk": "HASH", "sk": "RANGE"}


def caller(view: LiveView, _: Phase | None) -> Verdict:
    identity = view.caller()
    expected = view.settings.environment.account_id
    who = f"{identity['Arn']} (account {identity['Account']})"
    if expected is None:
        return warn(
            f"running as {who}; the environment names no account_id to compare with",
            f'set environments.{view.settings.environment_name}.account_id: "{identity["Account"]}" so a '
            "credential of another account is refused",
            [identity["Arn"]],
        )
    if identity["Account"] != expected:
        return fail(
            f"running as {who}, but the environment expects account {expected}",
            "use credentials of that account: another AWS_PROFILE, `aws sso login --profile ...`, or unset "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY left from another account",
            [identity["Arn"]],
        )
    return ok(f"running as {who}, the environment's account", [identity["Arn"]])


def state_table(view: LiveView, _: Phase | None) -> Verdict:
    name = view.settings.environment.state_table
    table = view.table(name)
    if table is None:
        return fail(
            f"{name} does not exist: deploy and rollback refuse to run without their lock",
            f"create it: aws dynamodb create-table --table-name {name} --billing-mode PAY_PER_REQUEST "
            "--attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S "
            "--key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE",
        )
    keys = {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]}
    if keys != STATE_KEYS:
        return fail(
            f"{name} has the key schema {keys}, not pk (HASH) + sk (RANGE)",
            "point state_table at a table created as docs/operations.md shows",
            [table["TableArn"]],
        )
    return ok(f"{name} exists with keys pk + sk", [table["TableArn"]])


def cluster(view: LiveView, _: Phase | None) -> Verdict:
    name = view.settings.service.cluster
    found = view.cluster()
    if found is None or found.get("status") != "ACTIVE":
        return fail(f"cluster {name} is missing or not ACTIVE", f"aws ecs create-cluster --cluster-name {name}")
    return ok(f"cluster {name} is ACTIVE", [found["clusterArn"]])


def roles(view: LiveView, _: Phase | None) -> Verdict:
    arns = [a for a in (view.settings.execution_role_arn, view.settings.task_role_arn) if a]
    return judge_roles(view, arns, "the configuration names no roles")


def repository(view: LiveView, _: Phase | None) -> Verdict:
    if view.settings.environment.registry != "ecr":
        return skip(f"images go to {view.settings.environment.registry}, not ECR")
    name = view.settings.service.image_repository
    found = view.ecr_repository(name)
    if found is None:
        return fail(f"repository {name} does not exist", f"aws ecr create-repository --repository-name {name}")
    return ok(f"repository {name} exists", [found["repositoryArn"]])


def log_group(view: LiveView, _: Phase | None) -> Verdict:
    name = view.settings.log_group
    if name is None:
        return skip("the configuration names no log group")
    if not view.log_group_exists(name):
        return fail(f"log group {name} does not exist", f"aws logs create-log-group --log-group-name {name}")
    return ok(f"log group {name} exists", [name])


def target_groups(view: LiveView, _: Phase | None) -> Verdict:
    service = view.settings.service
    lb = service.load_balancer
    # The alternate group only where native deployments are set up (a test listener is configured).
    names = [lb.target_group] + ([lb.alternate] if lb.test_listener_port is not None else [])
    problems, arns = [], []
    for name in names:
        group = view.ctx.elbv2.target_group(name)
        if group is None:
            problems.append(f"{name} does not exist")
            continue
        arns.append(group["TargetGroupArn"])
        # awsvpc tasks register by IP address: ECS refuses a service on an instance target group.
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb.html
        if group.get("TargetType") != "ip":
            problems.append(f"{name} has target type {group.get('TargetType')}, not ip")
    if problems:
        return fail(
            "; ".join(problems),
            "create target groups with --target-type ip (the type cannot be changed afterwards)",
            arns,
        )
    return ok(f"{', '.join(names)} exist with target type ip", arns)


PREFLIGHT: list[tuple[str, str, Callable[[LiveView, Phase | None], Verdict]]] = [
    ("caller", "account", caller),
    ("state table", "account", state_table),
    ("roles", "account", roles),
    ("ecr repository", "images", repository),
    ("log group", "logs", log_group),
    ("cluster", "service", cluster),
    ("listeners", "load balancer", preflight_traffic.listeners),
    ("target groups", "load balancer", target_groups),
    ("listener rules", "load balancer", preflight_traffic.listener_rules),
    ("health check path", "target group", preflight_traffic.health_path),
    ("task ingress", "network", preflight_traffic.task_ingress),
    ("load balancer role", "account", preflight_traffic.load_balancer_role),
    ("model bucket", "account", preflight_traffic.model_bucket),
]
SPECS = [
    CheckSpec(name, layer, "a first deploy failing on what was never created", name, run)
    for name, layer, run in PREFLIGHT
]


def run_preflight(view: LiveView) -> VerifyReport:
    """Every preflight check in turn; a refused call fails its check only, with the error."""
    started, calls_before = time.monotonic(), view.ctx.clients.total_calls
    results = [(spec, guarded(spec, view, None)) for spec in SPECS]
    return VerifyReport(results, time.monotonic() - started, view.ctx.clients.total_calls - calls_before)
