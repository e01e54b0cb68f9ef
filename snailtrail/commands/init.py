"""snailtrail init --from-service CLUSTER/SERVICE"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from snailtrail.global_options import GlobalOptions


def init(
    ctx: typer.Context,
    from_service: str = typer.Option(..., "--from-service", help="CLUSTER/SERVICE to adopt."),
    output_dir: Path = typer.Option(Path("."), "--output-dir", help="Where to write the files."),
    region: Optional[str] = typer.Option(
        None, "--region", help="The service's region (else AWS_REGION or the profile's).", show_default=False
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist."),
) -> None:
    """Adopt a running ECS service: write snailtrail.yaml (environment --env, default production) and
    phases/phase-1-adopted.yaml from its task definition, network, load balancer and Route 53 record. Read-only on
    AWS; `plan phase-1 --image IMAGE` on the written files then shows what a first deploy would change.
    """
    import yaml

    from snailtrail.aws.session import AwsClients
    from snailtrail.config.adopt import MANIFEST_NAME, adopt, parse_target
    from snailtrail.config.settings import EnvironmentConfig
    from snailtrail.errors import ConfigError

    state: GlobalOptions = ctx.obj
    cluster, service = parse_target(from_service)
    targets = [output_dir / "snailtrail.yaml", output_dir / "phases" / MANIFEST_NAME]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        raise ConfigError(f"{', '.join(existing)} already exist", fix="pass --force to overwrite, or --output-dir")
    # The region: --region, else AWS_REGION / AWS_DEFAULT_REGION, else the profile's (the SDK's order).
    # The global --env names the environment written (default: production).
    adopted = adopt(AwsClients(EnvironmentConfig(region=region)), cluster, service, state.env or "production")
    targets[1].parent.mkdir(parents=True, exist_ok=True)
    header = f"# Adopted from {from_service} by `snailtrail init`: review before the first deploy.\n"
    targets[0].write_text(header + yaml.safe_dump(adopted.config, sort_keys=False), encoding="utf-8")
    targets[1].write_text(header + yaml.safe_dump(adopted.manifest, sort_keys=False), encoding="utf-8")
    state.output(
        {"ok": True, "files": [str(p) for p in targets], "image": adopted.image},
        "\n".join(
            [f"wrote {p}" for p in targets]
            + [f"next: snailtrail --config {targets[0]} plan phase-1 --image {adopted.image}"]
        ),
    )
