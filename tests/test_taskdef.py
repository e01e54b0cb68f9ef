"""What a phase's task definition says to ECS in a real account."""

from __future__ import annotations

from pathlib import Path

import yaml

from snailtrail.config import load_settings
from snailtrail.phases import load_phases
from snailtrail.taskdef import fingerprint, render


def rendered(config: Path) -> dict:
    settings = load_settings(str(config), "production")
    return render(
        settings, load_phases(settings.phases_path)[1], "111122223333.dkr.ecr.eu-west-1.amazonaws.com/shine:x"
    )


def test_the_production_revision_names_its_platform_role_and_logs(production_config: Path) -> None:
    definition = rendered(production_config)
    assert definition["runtimePlatform"] == {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"}
    assert definition["executionRoleArn"] == "arn:aws:iam::111122223333:role/shine-execution"
    options = definition["containerDefinitions"][0]["logConfiguration"]["options"]
    assert options["awslogs-group"] == "/ecs/shine" and options["awslogs-region"] == "eu-west-1"


def test_a_private_registry_gets_its_credentials_and_they_change_the_fingerprint(production_config: Path) -> None:
    before = rendered(production_config)
    secret = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:registry-AbCdEf"
    document = yaml.safe_load(production_config.read_text())
    document["environments"]["production"].update(registry="registry.example.com", registry_credentials=secret)
    production_config.write_text(yaml.safe_dump(document))
    after = rendered(production_config)
    assert after["containerDefinitions"][0]["repositoryCredentials"] == {"credentialsParameter": secret}
    assert fingerprint(after) != fingerprint(before)
