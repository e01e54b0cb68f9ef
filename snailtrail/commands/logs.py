"""snailtrail logs"""

from __future__ import annotations

import re
import time
from typing import Optional

import typer

from snailtrail.global_options import GlobalOptions

DURATION = re.compile(r"^(?P<amount>\d+)(?P<unit>[smhd])$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Between two reads while following: CloudWatch Logs allows FilterLogEvents 5 times a second per
# account and region (service quotas), shared with everything else reading logs.
FOLLOW_INTERVAL_S = 2.0


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``2h``, ``1d`` in seconds."""
    from snailtrail.errors import ConfigError

    match = DURATION.match(text.strip())
    if match is None:
        raise ConfigError(f"--since {text}: not a duration", fix="write it as a number and s, m, h or d: --since 15m")
    return int(match["amount"]) * SECONDS[match["unit"]]


def logs(
    ctx: typer.Context,
    task: Optional[str] = typer.Option(None, "--task", help="One task, by id or id prefix."),
    previous: bool = typer.Option(False, "--previous", help="The tasks that stopped last (up to 3)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines until interrupted."),
    since: str = typer.Option("1h", "--since", help="From how long ago: 90s, 15m, 2h, 1d."),
) -> None:
    """The service's tasks' output from CloudWatch Logs (the awslogs group and stream ECS writes): its running tasks,
    or --previous (the tasks that stopped last), or --task ID (an id or its first characters, also of a task ECS no
    longer lists). --follow keeps printing new lines until Ctrl-C.
    """
    from snailtrail.errors import ConfigError

    state: GlobalOptions = ctx.obj
    if task is not None and previous:
        raise ConfigError("--task and --previous both choose the tasks", fix="use one of them")
    if follow and state.json_output:
        raise ConfigError("--follow never ends, so it has no one JSON document", fix="drop --json or --follow")
    start_ms = int((time.time() - parse_duration(since)) * 1000)
    from snailtrail.aws.logs import LogsApi
    from snailtrail.run.task_logs import follow as follow_lines
    from snailtrail.run.task_logs import read_since, selected_sources

    context = state.context()
    reader = LogsApi(context.clients)
    sources = selected_sources(context, task, previous)
    chosen = f"task {task}" if task else "stopped tasks" if previous else "running tasks"
    unavailable = [s for s in sources if s.unavailable]
    for source in unavailable:
        context.reporter.warn(
            f"no logs of task {source.task_id[:8]} container {source.container}: {source.unavailable}"
        )
    if not sources:
        context.reporter.warn(f"service {context.settings.service.name} has no {chosen}")
    if not follow:
        lines = read_since(reader, sources, start_ms)
        state.output(
            {
                "service": context.settings.service.name,
                "tasks": sorted({s.task_id for s in sources}),
                "unavailable": [
                    {"task": s.task_id, "container": s.container, "reason": s.unavailable} for s in unavailable
                ],
                "lines": [line.to_json() for line in lines],
            },
            "\n".join(line.render() for line in lines) if lines else None,
        )
        if not lines and not state.json_output:
            context.reporter.note(f"no log lines of the {chosen} since {since} ago")
        return
    # Running tasks come and go during a deploy: asked again each round. A chosen task stays chosen.
    again = (lambda: selected_sources(context, None, False)) if task is None and not previous else lambda: sources
    try:
        follow_lines(reader, again, start_ms, lambda line: state.echo(line.render()), FOLLOW_INTERVAL_S)
    except KeyboardInterrupt:
        return  # Ctrl-C is how following ends: exit 0
