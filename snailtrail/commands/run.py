"""snailtrail run PHASE -- COMMAND..."""

from __future__ import annotations

from typing import Optional

import typer

from snailtrail.global_options import GlobalOptions

# How often the task and its log stream are read: DescribeTasks and GetLogEvents each time.
MAX_POLL_S = 2.0


def run(
    ctx: typer.Context,
    phase: str = typer.Argument(..., help="The phase whose revision runs the command (name, short name or number)."),
    command: list[str] = typer.Argument(..., help="The command, after --, as the container's command override."),
    container: Optional[str] = typer.Option(
        None, "--container", help="The container that runs the command (default: the service's container)."
    ),
    timeout: Optional[float] = typer.Option(
        None, "--timeout", min=1, help="Stop the task (StopTask) after this many seconds and exit 124."
    ),
    leaves_schema: Optional[int] = typer.Option(
        None,
        "--leaves-schema",
        min=0,
        help="The command is a migration that leaves the database at this schema version: the trail records it "
        "when the task exits 0 (a down-migration before a rollback, docs/operations.md).",
    ),
    poll_interval: Optional[float] = typer.Option(None, "--poll-interval", min=0.01, hidden=True),
) -> None:
    """Run COMMAND once in a new task of PHASE's revision (the one the service runs, else the phase's last verified
    one), in the service's network, print its output as ECS's awslogs stream receives it, and exit with the
    container's exit code. Exit 1 when the task cannot start (ECS's reason is printed), 124 when --timeout stopped
    it, 2 when the phase has no revision to run. The trail records run.started and run.finished.
    """
    from snailtrail.run.one_off import OneOffTask, phase_revision, run_one_off, schema_warning
    from snailtrail.state.run_trail import RunTrail
    from snailtrail.state.schema import record_schema

    state: GlobalOptions = ctx.obj
    context = state.context()
    chosen = context.phase(phase)
    revision = phase_revision(context, chosen)
    name = container or context.settings.service.container_name
    context.reporter.note(
        f"running in {name} of {revision.revision.arn.rsplit('/', 1)[-1]} "
        f"({'the revision the service runs' if revision.source == 'live' else 'its last verified revision'})"
    )
    schema_problem = schema_warning(context, revision)
    if schema_problem:
        context.reporter.warn(f"{schema_problem}: the command runs with it all the same")
    trail = RunTrail(context.trail, context.trail.new_run_id())
    task = OneOffTask("run", chosen.name, revision, name, list(command), timeout)
    show = context.reporter.note if state.json_output else typer.echo
    poll = poll_interval or min(MAX_POLL_S, context.default_poll_interval_s)
    try:
        result = run_one_off(context, trail, task, poll, show)
    except KeyboardInterrupt:
        context.reporter.warn("interrupted: the task was stopped (StopTask)")
        raise typer.Exit(130) from None
    if leaves_schema is not None and result.ok:
        record_schema(trail, chosen.name, leaves_schema, f"`snailtrail run --leaves-schema` in {chosen.name}")
    document = result.to_json() | {"phase": chosen.name, "source": revision.source, "exit_status": result.exit_status}
    if result.ok:
        context.reporter.note(result.message)
    else:
        context.reporter.error(result.message, fix=result.fix)
    if state.json_output:
        state.output(document)
    if result.exit_status:
        raise typer.Exit(result.exit_status)
