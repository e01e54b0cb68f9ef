"""snailtrail.yaml: what one environment sets for itself."""

from __future__ import annotations

from pathlib import Path

from snailtrail.config import load_settings
from snailtrail.context import Context
from snailtrail.ui import Reporter


def test_each_environment_has_its_own_domain(production_config: Path) -> None:
    production = load_settings(str(production_config), "production")
    sandbox = load_settings(str(production_config), "sandbox")
    assert production.domain is not None and production.domain.name == "shine.example.com"
    assert sandbox.domain is not None and sandbox.domain.name == "shine.sandbox.test"


def test_an_environment_without_public_url_is_reached_at_its_own_domain(production_config: Path) -> None:
    import yaml

    document = yaml.safe_load(production_config.read_text())
    del document["environments"]["production"]["public_url"]
    production_config.write_text(yaml.safe_dump(document))
    context = Context(load_settings(str(production_config), "production"), Reporter(quiet=True))
    assert context.public_url() == "https://shine.example.com"


def test_the_task_role_of_an_environment_wins_over_the_services(production_config: Path) -> None:
    import yaml

    document = yaml.safe_load(production_config.read_text())
    document["service"]["task_role_arn"] = "arn:aws:iam::123456789012:role/sandbox-task"
    production_config.write_text(yaml.safe_dump(document))
    assert load_settings(str(production_config), "production").task_role_arn.endswith("111122223333:role/shine-task")
    assert load_settings(str(production_config), "sandbox").task_role_arn.endswith("123456789012:role/sandbox-task")


def _production(production_config: Path, **changes: object) -> Context:
    import yaml

    document = yaml.safe_load(production_config.read_text())
    document["environments"]["production"].update(changes)
    production_config.write_text(yaml.safe_dump(document))
    return Context(load_settings(str(production_config), "production"), Reporter(quiet=True))


def test_behind_cloudfront_the_test_url_is_the_load_balancers_domain(production_config: Path) -> None:
    context = _production(production_config, public_url="https://d111111abcdef8.cloudfront.net")
    assert context.test_url() == "https://shine.example.com:8080"


def test_an_environments_test_url_wins(production_config: Path) -> None:
    context = _production(production_config, test_url="https://origin.shine.example.com:8443")
    assert context.test_url() == "https://origin.shine.example.com:8443"
