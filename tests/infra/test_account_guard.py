"""Before any change to a `kind: aws` environment, the credentials' account is the environment's."""

from __future__ import annotations

from tests.commands.test_deploy import GOOD_1
from tests.conftest import Sandbox


def test_a_deploy_with_credentials_of_another_account_changes_nothing(sandbox: Sandbox) -> None:
    sandbox.edit_config(lambda doc: doc["environments"]["unit"].update(account_id="111122223333"))
    result = sandbox.deploy("phase-1", GOOD_1)
    assert result.exit_code == 2
    assert "account 123456789012" in result.stderr and "account_id is 111122223333" in result.stderr
    assert "AWS_PROFILE" in result.stderr
    assert sandbox.mutating_calls() == []
    assert sandbox.api_calls["sts.GetCallerIdentity"] == 1


def test_a_rollback_with_credentials_of_another_account_changes_nothing(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.edit_config(lambda doc: doc["environments"]["unit"].update(account_id="111122223333"))
    sandbox.api_calls.clear()
    result = sandbox.run("rollback", "--to", "phase-1")
    assert result.exit_code == 2, result.stderr
    assert sandbox.mutating_calls() == []


def test_the_environments_own_account_deploys(sandbox: Sandbox) -> None:
    sandbox.edit_config(lambda doc: doc["environments"]["unit"].update(account_id="123456789012"))
    result = sandbox.deploy("phase-1", GOOD_1)
    assert result.exit_code == 0, result.stderr
    assert "unchecked" not in result.stderr


def test_without_an_account_id_the_account_changed_is_named(sandbox: Sandbox) -> None:
    result = sandbox.deploy("phase-1", GOOD_1)
    assert result.exit_code == 0, result.stderr
    assert "account_id is not set: changing account 123456789012" in result.stderr
