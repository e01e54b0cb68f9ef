"""What a ``kind: aws`` environment and its phases need before any AWS call.

AWS refuses these only at call time (RegisterTaskDefinition, CreateService) or, worse, accepts
them and the tasks fail later; here each is a configuration error naming the field and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from snailtrail.aws import cloudwatch
from snailtrail.config.phases import Phase
from snailtrail.config.settings import EnvironmentKind, Settings
from snailtrail.config.strategy_config import StrategyConfig, StrategyKind
from snailtrail.errors import ConfigError

GIB = 1024
# Valid Fargate task sizes: cpu units -> the memory (MiB) allowed with them.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1 * GIB, 2 * GIB),
    512: tuple(range(1 * GIB, 4 * GIB + 1, GIB)),
    1024: tuple(range(2 * GIB, 8 * GIB + 1, GIB)),
    2048: tuple(range(4 * GIB, 16 * GIB + 1, GIB)),
    4096: tuple(range(8 * GIB, 30 * GIB + 1, GIB)),
    8192: tuple(range(16 * GIB, 60 * GIB + 1, 4 * GIB)),
    16384: tuple(range(32 * GIB, 120 * GIB + 1, 8 * GIB)),
}


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    fix: str


def _memory_choices(cpu: int) -> str:
    sizes = FARGATE_SIZES[cpu]
    if len(sizes) <= 3:
        return ", ".join(str(m) for m in sizes)
    return f"{sizes[0]}-{sizes[-1]} in steps of {sizes[1] - sizes[0]}"


def environment_problems(settings: Settings) -> list[Problem]:
    """What the selected aws environment lacks or carries from the sandbox."""
    env = settings.environment
    service = settings.service
    where = f"environments.{settings.environment_name}"
    fargate = service.launch_type == "FARGATE"
    problems: list[Problem] = []
    if env.registry == "sandbox":
        problems.append(
            Problem(
                f"{where}.registry", "'sandbox' is the embedded sandbox's registry", "set registry: ecr (or a host)"
            )
        )
    if env.seed_commands:
        problems.append(
            Problem(f"{where}.seed_commands", "seed commands run only in the sandbox", "remove seed_commands")
        )
    if env.registry_credentials and env.registry == "ecr":
        problems.append(
            Problem(
                f"{where}.registry_credentials",
                "ECR images are pulled with the execution role, not repositoryCredentials",
                "remove registry_credentials, or name the private registry's host in registry",
            )
        )
    if settings.log_group is None:
        problems.append(
            Problem(
                f"{where}.log_group",
                "no log group: the tasks would log nowhere",
                "create a CloudWatch Logs group and name it in log_group (doctor checks it exists)",
            )
        )
    # Fargate pulls ECR images and sends awslogs with the execution role; on EC2 the container
    # instance role does, but private-registry credentials always need it.
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
    needs = [
        reason
        for reason, applies in (
            ("ECR images", fargate and env.registry == "ecr"),
            ("awslogs", fargate and settings.log_group is not None),
            ("registry credentials", env.registry_credentials is not None),
        )
        if applies
    ]
    if needs and settings.execution_role_arn is None:
        problems.append(_no_execution_role(where, ", ".join(needs)))
    if env.cpu_architecture is None:
        problems.append(
            Problem(
                f"{where}.cpu_architecture",
                "no platform: images would be built for this machine's CPU, which may not be the tasks'",
                "set cpu_architecture: X86_64 (Fargate's default) or ARM64",
            )
        )
    if service.network.assign_public_ip and not fargate:
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AwsVpcConfiguration.html
        problems.append(
            Problem(
                "service.network.assign_public_ip",
                "a public IP is assigned only to Fargate tasks",
                "set assign_public_ip: false (EC2 tasks reach out through a NAT gateway)",
            )
        )
    problems.extend(_metrics_problems(settings))
    if env.strategy is not None:
        problems.extend(strategy_problems(settings, env.strategy, f"{where}.strategy"))
    return problems


def _metrics_problems(settings: Settings) -> list[Problem]:
    period = settings.environment.metrics_period_s
    alb_period = cloudwatch.ALB_PERIOD_S
    if period is None or period % alb_period == 0:
        return []
    # GetMetricData's MetricStat.Period: a multiple of 60 for regular-resolution metrics, as an ALB's are.
    return [
        Problem(
            f"environments.{settings.environment_name}.metrics_period_s",
            f"{period} s is not a period of an ALB's metrics, which it publishes every {alb_period} s",
            f"remove metrics_period_s (default {alb_period}) or set a multiple of {alb_period}",
        )
    ]


def strategy_problems(settings: Settings, strategy: StrategyConfig, where: str) -> list[Problem]:
    """Bakes the gates could not judge: shorter than one period of the load balancer's metrics plus the
    delay before CloudWatch has it. A bake of 0 is no bake at all, honest only where
    ``gates.allow_no_traffic`` lets a step pass on target health alone; gates.allow_no_traffic does not
    excuse a short bake, which would pass every step with "too few requests" whatever the traffic."""
    timing = cloudwatch.metrics_timing(settings.environment)
    shortest = timing.shortest_bake_s
    minute_s = settings.environment.minute_s
    bakes = {
        StrategyKind.canary: [(f"{where}.canary.bake_minutes", strategy.canary.bake_minutes)],
        StrategyKind.linear: [(f"{where}.linear.step_bake_minutes", strategy.linear.step_bake_minutes)],
    }.get(strategy.kind, [])
    if strategy.native:
        bakes.append((f"{where}.bake_minutes", strategy.bake_minutes))
    why = (
        f"the gates judge a period of the load balancer's metrics ({timing.period_s} s) only once CloudWatch "
        f"has it, up to {timing.delay_s} s after it ends"
    )
    problems = []
    for field, minutes in bakes:
        bake_s = minutes * minute_s
        if bake_s == 0 and strategy.gates.allow_no_traffic:
            continue
        if bake_s == 0:
            problems.append(
                Problem(
                    field,
                    f"a bake of 0 s ends before the traffic gates can judge anything ({why}): the deploy would abort",
                    f"bake at least {_minutes(shortest, minute_s)}, or set gates.allow_no_traffic to pass the step "
                    "on target health",
                )
            )
        elif bake_s < shortest:
            problems.append(
                Problem(
                    field,
                    f"a bake of {minutes} minute(s) ends before the traffic gates can judge anything ({why})",
                    f"bake at least {_minutes(shortest, minute_s)} (or 0 with gates.allow_no_traffic for no bake)",
                )
            )
    return problems


def _minutes(seconds: float, minute_s: float) -> str:
    return f"{-(-seconds // minute_s):.0f} minute(s) ({seconds:g} s)"


def _no_execution_role(where: str, reasons: str) -> Problem:
    return Problem(
        f"{where}.execution_role_arn",
        f"no task execution role, which {reasons} need",
        "create a role trusting ecs-tasks.amazonaws.com with AmazonECSTaskExecutionRolePolicy and name its ARN "
        "in execution_role_arn",
    )


def phase_problems(settings: Settings, phase: Phase) -> list[Problem]:
    spec = phase.container
    where = f"{phase.path.name}: container"
    problems: list[Problem] = []
    if phase.manifest.strategy is not None:
        problems.extend(strategy_problems(settings, phase.manifest.strategy, f"{phase.path.name}: strategy"))
    if spec.secrets and settings.execution_role_arn is None:
        problems.append(_no_execution_role(f"environments.{settings.environment_name}", f"{phase.name}'s secrets"))
    if settings.service.launch_type == "FARGATE":
        if spec.cpu not in FARGATE_SIZES:
            problems.append(
                Problem(
                    f"{where}.cpu",
                    f"{spec.cpu} is not a Fargate task size",
                    f"use one of {', '.join(str(c) for c in FARGATE_SIZES)}",
                )
            )
        elif spec.memory not in FARGATE_SIZES[spec.cpu]:
            problems.append(
                Problem(
                    f"{where}.memory",
                    f"Fargate runs {spec.cpu} cpu units with {_memory_choices(spec.cpu)} MiB, not {spec.memory}",
                    "pick a memory of that list, or another cpu",
                )
            )
    return problems


def _raise(problems: list[Problem]) -> None:
    if problems:
        lines = [f"{p.field}: {p.message} (fix: {p.fix})" for p in problems]
        raise ConfigError("the environment is not ready for AWS:\n" + "\n".join(lines), fix=problems[0].fix)


def require_environment(settings: Settings) -> None:
    """Refuse an aws environment that AWS would refuse (or run badly); the sandbox is not checked."""
    if settings.environment.kind is EnvironmentKind.aws:
        _raise(environment_problems(settings))


def require_phases(settings: Settings, phases: list[Phase]) -> None:
    if settings.environment.kind is EnvironmentKind.aws:
        _raise([problem for phase in phases for problem in phase_problems(settings, phase)])
