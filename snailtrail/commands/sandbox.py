"""snailtrail sandbox up | down | status"""

from __future__ import annotations

import typer

from snailtrail.global_options import GlobalOptions

sandbox_app = typer.Typer(
    help="The embedded environment: moto's control plane on 127.0.0.1, a reconciler that "
    "runs tasks as real containers on the local Docker engine, a front door for the "
    "load balancer's listener and a DNS responder for the Route 53 zone.",
    no_args_is_help=True,
)


def _settings(state: GlobalOptions):
    from snailtrail.config.settings import EnvironmentKind, load_settings
    from snailtrail.errors import ConfigError

    settings = load_settings(state.config, state.env)
    if settings.environment.kind is not EnvironmentKind.sandbox:
        raise ConfigError(
            f"environment {settings.environment_name} is not a sandbox (kind: {settings.environment.kind.value})",
            fix="pass --env with a sandbox environment",
        )
    return settings


@sandbox_app.command()
def up(ctx: typer.Context) -> None:
    """Start the sandbox (reused when it already runs) and provision it from snailtrail.yaml."""
    from snailtrail.sandbox import control
    from snailtrail.ui import Reporter

    state: GlobalOptions = ctx.obj
    settings = _settings(state)
    _, started = control.up(settings, Reporter(verbose=state.verbose))
    document = control.describe(settings) | {"started": started}
    state.output(
        document,
        ("started" if started else "already running")
        + f": AWS API {document['aws_endpoint_url']}, front door {document['front_door_url']}, "
        f"DNS {document['dns_server']}, registry {document['registry'] or 'none (local engine)'}",
    )


@sandbox_app.command()
def down(ctx: typer.Context) -> None:
    """Stop exactly what `sandbox up` started (by pid) and remove its containers."""
    from snailtrail.sandbox import control

    state: GlobalOptions = ctx.obj
    result = control.down(_settings(state))
    state.output(
        result,
        f"stopped sandbox (pid {result['pid']}), removed {result['containers_removed']} container(s)"
        if result["stopped"]
        else "the sandbox was not running",
    )


@sandbox_app.command()
def status(ctx: typer.Context) -> None:
    """Whether the sandbox runs, its endpoints, the registry, the Docker engine, its pids, and whether each part the
    phases need is ready (engine, registry, seed, task_aws_api).
    """
    from snailtrail.sandbox import control

    state: GlobalOptions = ctx.obj
    document = control.describe(_settings(state))
    lines = [f"running: {document['running']}", f"docker engine reachable: {document['docker']}"]
    if document["unresponsive"]:
        lines.append(document["unresponsive"])
    if document["running"]:
        lines += [
            f"AWS API: {document['aws_endpoint_url']}",
            f"front door: {document['front_door_url']} (trust {document['ca_file']})",
            f"DNS: {document['dns_server']}",
            f"registry: {document['registry'] or 'none (local engine)'}",
            f"pids: {document['pids']}",
        ]
        lines += [
            f"{part}: {'ok' if entry.get('ok') else 'FAILED'}: {entry.get('detail')}"
            + ("" if entry.get("ok") or not entry.get("fix") else f" (fix: {entry['fix']})")
            for part, entry in document["readiness"].items()
        ]
    state.output(document, "\n".join(lines))


@sandbox_app.command(name="break")
def break_(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="sg-rule | route-table | domain | public-dns | route53-dns | service | port"),
) -> None:
    """Inject one incident of docs/incidents.md so `verify` can be seen catching it: sg-rule, route-table, domain,
    public-dns, route53-dns, service, port. `sandbox heal` undoes it.
    """
    from snailtrail.sandbox.drills import DRILLS, inject

    state: GlobalOptions = ctx.obj
    _settings(state)  # drills never touch a real account
    context = state.context()
    with context.holding_lock(f"sandbox break {kind}"):
        done = inject(context, kind)
    drill = DRILLS[kind]
    state.output(
        {"drill": kind, "done": done, "incident": drill.incident, "caught_by": drill.caught_by},
        f"{done}\nincident {drill.incident}; `snailtrail verify --only '{drill.caught_by}'` catches it",
    )


@sandbox_app.command()
def heal(ctx: typer.Context) -> None:
    """Undo every drill: restore the rule, the route-table associations, the domain's record, the service, and a
    verified task definition.
    """
    from snailtrail.sandbox.drills import heal as heal_all

    state: GlobalOptions = ctx.obj
    _settings(state)
    context = state.context()
    with context.holding_lock("sandbox heal"):  # heal changes the service: never beside a deploy
        done = heal_all(context)
    state.output({"healed": done}, "\n".join(done))
