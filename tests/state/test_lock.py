"""The deploy lock: one change at a time, released on every exit path, removable when stale."""

from __future__ import annotations

import threading
import time

import boto3
import pytest

from snailtrail.aws.session import AwsClients
from snailtrail.config.settings import load_settings
from snailtrail.errors import LockHeld
from snailtrail.state.lock import DeployLock
from tests.conftest import CRASHING, Sandbox

GOOD = "fake.local/shine:phase-1-good"


def other_operator(sandbox: Sandbox) -> DeployLock:
    settings = load_settings(str(sandbox.config))
    return DeployLock(AwsClients(settings.environment), settings.environment.state_table, "unit", "shine")


def test_a_held_lock_makes_deploy_and_rollback_exit_4_naming_the_holder(sandbox: Sandbox) -> None:
    lock = other_operator(sandbox)
    lock.acquire("deploy phase-9")
    sandbox.api_calls.clear()
    result = sandbox.deploy("phase-1", GOOD)
    assert result.exit_code == 4
    assert "another deploy holds the lock" in result.stderr and "`deploy phase-9` since" in result.stderr
    # The refused conditional put is the only write: no task definition, no service change, no trail event.
    assert sandbox.mutating_calls() == ["dynamodb.PutItem"] and sandbox.api_calls["dynamodb.PutItem"] == 1
    assert sandbox.run("rollback").exit_code == 4
    status = sandbox.run("status", "--json").json()
    assert status["lock"]["command"] == "deploy phase-9"


def test_lock_is_released_after_success_and_after_failure(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    assert other_operator(sandbox).holder() is None
    sandbox.break_phase("phase-2", CRASHING)
    assert sandbox.deploy("phase-2", "fake.local/shine:phase-2-crash").exit_code == 1
    assert other_operator(sandbox).holder() is None


def test_unlock_force_removes_a_stale_lock_and_says_so_in_the_trail(sandbox: Sandbox) -> None:
    other_operator(sandbox).acquire("deploy phase-2")
    refused = sandbox.run("unlock")
    assert refused.exit_code == 2 and "--force" in refused.stderr
    removed = sandbox.run("unlock", "--force")
    assert removed.exit_code == 0 and "deploy phase-2" in removed.stdout
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    events = sandbox.run("trail", "--format", "json").json()["events"]
    assert any(e["kind"] == "lock.removed" for e in events)


def test_dry_run_and_verify_need_no_lock(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    other_operator(sandbox).acquire("deploy phase-2")
    assert sandbox.run("deploy", "phase-2", "--image", GOOD, "--dry-run").exit_code == 0
    assert sandbox.run("verify", "--only", "service active").exit_code == 0


def test_a_lock_removed_under_a_running_deploy_is_noticed(sandbox: Sandbox, monkeypatch) -> None:
    import time

    from snailtrail.state import lock as lock_module

    monkeypatch.setattr(lock_module, "RENEW_EVERY_S", 0.05)
    mine, operator = other_operator(sandbox), other_operator(sandbox)
    with mine.held("deploy phase-2"):
        assert operator.force_remove()["command"] == "deploy phase-2"
        deadline = time.monotonic() + 5
        while not mine.lost.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mine.lost.is_set(), "the renewal must notice the lock is no longer ours"


def test_an_expired_lease_left_unchanged_for_a_whole_lease_is_taken_over_and_its_old_holder_is_out(
    sandbox: Sandbox, monkeypatch
) -> None:
    from snailtrail.state import lock as lock_module

    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    dead = other_operator(sandbox)
    monkeypatch.setattr(lock_module, "LEASE_S", -1)  # a holder that stopped renewing: its lease has run out
    dead.acquire("deploy phase-2")
    monkeypatch.setattr(lock_module, "LEASE_S", 0.3)
    monkeypatch.setattr(lock_module, "WATCH_EVERY_S", 0.05)
    assert other_operator(sandbox).holder()["expired"] is True
    assert sandbox.run("status", "--json").json()["lock"] is None  # an expired lock is reported as free

    taker = other_operator(sandbox)
    said: list[str] = []
    started = time.monotonic()
    taker.acquire("deploy phase-1", said.append)  # no unlock --force needed
    assert time.monotonic() - started >= 0.3, "taken over before the record was seen unchanged for a lease"
    assert "looks expired" in said[0]
    assert dead.renew() is False
    dead.release()  # the old holder's release must not free the new holder's lock
    holder = other_operator(sandbox).holder()
    assert holder is not None and holder["command"] == "deploy phase-1"
    monkeypatch.setattr(lock_module, "LEASE_S", 300)
    assert taker.renew() is True  # its holder renews, as a live deploy does: another deploy is refused at once
    assert sandbox.deploy("phase-2", "fake.local/shine:phase-2-good").exit_code == 4


def test_a_host_whose_clock_runs_ahead_never_takes_a_live_lock(sandbox: Sandbox, monkeypatch) -> None:
    from snailtrail.state import lock as lock_module

    monkeypatch.setattr(lock_module, "LEASE_S", 0.5)
    monkeypatch.setattr(lock_module, "WATCH_EVERY_S", 0.05)
    live = other_operator(sandbox)
    live.acquire("deploy phase-2")
    stop = threading.Event()

    real_time = time.time
    table = boto3.client("dynamodb", region_name="us-east-1")

    def renewing() -> None:  # the live holder, on a host with the right time, renews well within its lease
        while not stop.wait(0.1):
            table.update_item(
                TableName="snailtrail-state",
                Key={"pk": {"S": "lock#unit#shine"}, "sk": {"S": "lock"}},
                UpdateExpression="SET expires_at = :e, version = :v",
                ExpressionAttributeValues={":e": {"N": str(real_time() + 0.5)}, ":v": {"S": str(real_time())}},
            )

    threading.Thread(target=renewing, daemon=True).start()
    monkeypatch.setattr(lock_module.time, "time", lambda: real_time() + 400)  # this host's clock: 400 s ahead
    try:
        with pytest.raises(LockHeld, match="renewed the lock while this run waited"):
            other_operator(sandbox).acquire("deploy phase-1")
    finally:
        stop.set()
        monkeypatch.setattr(lock_module.time, "time", real_time)
    assert other_operator(sandbox).holder()["command"] == "deploy phase-2"


@pytest.mark.parametrize(
    "item",
    [
        {"owner": {"S": "x"}, "token": {"S": "t"}},  # no expires_at
        {"expires_at": {"N": "99999999999"}},  # no token
        {"token": {"N": "1"}, "expires_at": {"S": "soon"}, "pid": {"M": {}}},  # garbage
    ],
    ids=["no expires_at", "no token", "garbage"],
)
def test_a_malformed_lock_is_stale_status_and_deploy_do_not_crash_and_unlock_force_clears_it(
    sandbox: Sandbox, item: dict
) -> None:
    def plant() -> None:
        boto3.client("dynamodb", region_name="us-east-1").put_item(
            TableName="snailtrail-state", Item={"pk": {"S": "lock#unit#shine"}, "sk": {"S": "lock"}} | item
        )

    plant()
    assert sandbox.run("status", "--json").exit_code == 0
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0  # nobody can renew it: taken over at once
    plant()
    removed = sandbox.run("unlock", "--force")
    assert removed.exit_code == 0, removed.stderr
    assert other_operator(sandbox).holder() is None


def test_throttling_while_renewing_is_retried_not_taken_as_a_lost_lock(sandbox: Sandbox, monkeypatch) -> None:
    from botocore.exceptions import ClientError

    from snailtrail.state import lock as lock_module

    monkeypatch.setattr(lock_module, "RENEW_EVERY_S", 0.05)
    monkeypatch.setattr(lock_module, "RETRY_EVERY_S", 0.01)
    mine = other_operator(sandbox)
    real_update = mine._dynamodb.update_item
    throttled = {"left": 3}

    def update_item(**kwargs):
        if throttled["left"]:
            throttled["left"] -= 1
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
            raise ClientError(error, "UpdateItem")
        return real_update(**kwargs)

    monkeypatch.setattr(mine._dynamodb, "update_item", update_item)
    with pytest.raises(ClientError):
        mine.renew()  # a fault that is not a lost lock is not answered "lost"
    with mine.held("deploy phase-2"):
        deadline = time.monotonic() + 5
        while throttled["left"] and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # renewals succeed again
        assert not mine.lost.is_set()
        assert mine.confirm()


def test_every_change_reads_the_token_again(sandbox: Sandbox) -> None:
    mine = other_operator(sandbox)
    mine.acquire("deploy phase-2")
    assert mine.confirm()
    other_operator(sandbox).force_remove()
    assert not mine.confirm() and mine.lost.is_set()  # no renewal needed to notice


def test_a_lost_lock_stops_the_deploy_before_it_changes_the_service(sandbox: Sandbox, monkeypatch) -> None:
    import time

    from snailtrail.aws.ecs import EcsApi
    from snailtrail.state import lock as lock_module

    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    monkeypatch.setattr(lock_module, "RENEW_EVERY_S", 0.05)
    held: list[DeployLock] = []
    acquire, register = DeployLock.acquire, EcsApi.register_task_definition

    def acquire_and_remember(self: DeployLock, command: str, say=None) -> None:
        acquire(self, command, say)
        held.append(self)

    def register_then_lose_the_lock(self: EcsApi, *args, **kwargs):
        registered = register(self, *args, **kwargs)
        other_operator(sandbox).force_remove()  # another operator's unlock --force, mid-deploy
        deadline = time.monotonic() + 10
        while not held[0].lost.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        return registered

    monkeypatch.setattr(DeployLock, "acquire", acquire_and_remember)
    monkeypatch.setattr(EcsApi, "register_task_definition", register_then_lose_the_lock)
    sandbox.api_calls.clear()
    result = sandbox.deploy("phase-2", "fake.local/shine:phase-2-good", "--json")
    assert held[0].lost.is_set(), result.stdout + result.stderr
    assert result.exit_code == 3, result.stdout
    assert "the deploy lock was lost" in result.json()["message"]
    assert "ecs.UpdateService" not in sandbox.api_calls  # neither the deploy's update nor a rollback's
    assert sandbox.run("status", "--json").json()["task_definition"].endswith(":1")
