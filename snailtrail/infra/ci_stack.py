"""The GitHub Actions stack (snailtrail/templates/github-actions.yaml) with the policies snailtrail prints.

The roles' permissions are `snailtrail iam-policy --for deploy|verify` for this environment, put into the
template as each role's inline policy, so the CI roles can never drift from what snailtrail calls.
"""

from __future__ import annotations

import copy

from snailtrail.config.phases import Phase
from snailtrail.config.settings import Settings
from snailtrail.errors import ConfigError
from snailtrail.infra.iam_policy import AccountResources, policy
from snailtrail.infra.template import GITHUB_ACTIONS_TEMPLATE, StackInputs, load_template


def ci_stack_inputs(settings: Settings, phases: list[Phase], account: AccountResources | None) -> StackInputs:
    """``account``: the roles of the service's older verified revisions, when the environment's stack exists."""
    infra = settings.environment.infra
    field = f"environments.{settings.environment_name}.infra"
    if infra is None or infra.github_repository is None:
        raise ConfigError(
            f"`snailtrail infra up --ci` needs {field}.github_repository",
            fix=f"set {field}.github_repository: OWNER/NAME (the repository whose workflows deploy)",
        )
    template = copy.deepcopy(load_template(GITHUB_ACTIONS_TEMPLATE))
    resources = template["Resources"]
    for logical_id, purpose in (("DeployRole", "deploy"), ("VerifyRole", "verify")):
        resources[logical_id]["Properties"]["Policies"] = [
            {"PolicyName": f"snailtrail-{purpose}", "PolicyDocument": policy(settings, purpose, phases, account)}
        ]
    declared = set(template["Parameters"])
    unknown = sorted(set(infra.ci_parameters) - declared - {"GitHubRepository"})
    if unknown or "GitHubRepository" in infra.ci_parameters:
        raise ConfigError(
            f"{field}.ci_parameters: {', '.join(unknown) or 'GitHubRepository'} is not a parameter it can set",
            fix=f"use {', '.join(sorted(declared - {'GitHubRepository'}))} (the repository is github_repository)",
        )
    service = settings.service.name
    parameters = {
        "MainBranch": "main",
        "OidcProviderArn": "",
        "DeployRoleName": f"{service}-deploy",
        "VerifyRoleName": f"{service}-verify",
        "GitHubRepository": infra.github_repository,
    } | infra.ci_parameters
    stack_name = f"{infra.stack_name or f'{service}-{settings.environment_name}'}-ci"
    return StackInputs(stack_name, template, parameters)
