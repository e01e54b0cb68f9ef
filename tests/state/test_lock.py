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
from snailtrail.state.trail import attribute_content
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


# -- The lock's rules on one table, without a sandbox (fast enough for bench/mutation) -----------------

NOW = 1_800_000_000.0  # a fixed wall clock: the lease's expiry is read from it


@pytest.fixture
def table(aws_env: None, tmp_path, monkeypatch: pytest.MonkeyPatch):
    """An empty state table, and a factory of operators' locks on it; this host's wall clock is fixed at NOW."""
    from moto import mock_aws

    from snailtrail.infra.template import ENVIRONMENT_TEMPLATE, load_template
    from snailtrail.state import lock as lock_module
    from tests.conftest import write_config

    monkeypatch.setenv("SNAILTRAIL_ACTOR", "ana")
    monkeypatch.setattr(lock_module.time, "time", lambda: NOW)
    with mock_aws():
        settings = load_settings(str(write_config(tmp_path, "https://shine.example.com")))
        clients = AwsClients(settings.environment)
        # The state table as the environment's template declares it (its keys and billing), alone.
        declared = load_template(ENVIRONMENT_TEMPLATE)["Resources"]["StateTable"]["Properties"]
        clients.client("dynamodb").create_table(
            TableName="snailtrail-state",
            **{key: declared[key] for key in ("BillingMode", "AttributeDefinitions", "KeySchema")},
        )

        def operator(table_name: str = "snailtrail-state") -> DeployLock:
            return DeployLock(clients, table_name, "unit", "shine")

        yield operator, clients.client("dynamodb")


def lock_record(dynamodb, **attributes: dict) -> None:
    key = {"pk": {"S": "lock#unit#shine"}, "sk": {"S": "lock"}}
    dynamodb.put_item(TableName="snailtrail-state", Item=key | attributes)


def test_the_lock_names_its_holder_and_expires_a_lease_after_it_was_taken(table) -> None:
    import os
    import socket
    from datetime import datetime

    from snailtrail.state.lock import LEASE_S

    operator, _ = table
    operator().acquire("deploy phase-2")

    holder = operator().holder()

    assert holder is not None
    assert (holder["owner"], holder["host"], holder["pid"], holder["command"]) == (
        "ana",
        socket.gethostname(),
        str(os.getpid()),
        "deploy phase-2",
    )
    assert holder["expires_at"] == NOW + LEASE_S
    assert holder["expired"] is False and holder["malformed"] is None
    assert datetime.fromisoformat(holder["since"]).tzinfo is not None  # when it was taken, said as UTC


def test_a_second_operator_is_refused_naming_the_holder_and_how_to_get_past_it(table) -> None:
    operator, _ = table
    first = operator()
    first.acquire("deploy phase-2")
    since = first.holder()["since"]

    with pytest.raises(LockHeld) as refused:
        operator().acquire("rollback")

    assert str(refused.value) == (
        f"another deploy holds the lock: ana on {first.holder()['host']} (pid {first.holder()['pid']}) "
        f"running `deploy phase-2` since {since}"
    )
    assert refused.value.fix == "wait for it to finish; if its holder is gone, `snailtrail unlock --force`"


def test_a_retried_acquire_finds_the_lock_already_its_own(table) -> None:
    operator, _ = table
    lock = operator()
    lock.acquire("deploy phase-2")

    lock.acquire("deploy phase-2")  # its first answer lost: the put was applied

    assert lock.confirm() is True


@pytest.mark.parametrize(
    ("attributes", "problem"),
    [
        ({"expires_at": {"N": str(NOW + 300)}}, "no token"),
        ({"token": {"S": "t"}}, "no readable expires_at"),
        ({"token": {"S": "t"}, "expires_at": {"S": "soon"}}, "no readable expires_at"),
        ({}, "no token, no readable expires_at"),
    ],
)
def test_a_malformed_lock_record_is_stale_at_once_and_taken_over(table, attributes: dict, problem: str) -> None:
    operator, dynamodb = table
    lock_record(dynamodb, **attributes)
    holder = operator().holder()
    assert holder["malformed"] == problem
    assert holder["owner"] == holder["command"] == "?"  # what the record does not say

    lock = operator()
    lock.acquire("deploy phase-2")

    assert lock.confirm() is True and operator().holder()["command"] == "deploy phase-2"


def test_a_live_lock_whose_lease_is_not_over_is_not_expired(table) -> None:
    operator, dynamodb = table
    lock_record(dynamodb, token={"S": "t"}, expires_at={"N": str(NOW + 1)}, command={"S": "deploy phase-9"})

    holder = operator().holder()

    assert holder["expired"] is False and holder["command"] == "deploy phase-9"


@pytest.fixture
def clocks(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """This host's monotonic clock, advanced only by the lock's own sleeps."""
    from snailtrail.state import lock as lock_module

    monotonic = [1000.0]
    monkeypatch.setattr(lock_module.time, "monotonic", lambda: monotonic[0])
    monkeypatch.setattr(lock_module.time, "sleep", lambda seconds: monotonic.__setitem__(0, monotonic[0] + seconds))
    return monotonic


def test_an_expired_lock_left_unchanged_for_a_whole_lease_is_taken_over_after_saying_so(table, clocks) -> None:
    from snailtrail.state.lock import LEASE_S

    operator, dynamodb = table
    lock_record(
        dynamodb,
        token={"S": "gone"},
        version={"S": "v1"},
        expires_at={"N": str(NOW - 1)},
        command={"S": "deploy phase-9"},
        owner={"S": "bo"},
        host={"S": "ci-7"},
    )
    said: list[str] = []
    lock = operator()

    lock.acquire("deploy phase-2", said.append)

    assert said == [
        f"the lock of `deploy phase-9` (bo on ci-7) looks expired: taking it over if it stays unchanged for {LEASE_S} s"
    ]
    assert clocks[0] - 1000.0 == LEASE_S  # a whole lease on this host's own clock, as it said
    assert operator().holder()["command"] == "deploy phase-2"


def test_a_holder_that_renews_while_a_takeover_waits_keeps_the_lock(table, clocks, monkeypatch) -> None:
    from snailtrail.state import lock as lock_module

    operator, dynamodb = table
    lock_record(dynamodb, token={"S": "alive"}, version={"S": "v1"}, expires_at={"N": str(NOW - 1)})

    def renewed_meanwhile(seconds: float) -> None:
        lock_record(dynamodb, token={"S": "alive"}, version={"S": "v2"}, expires_at={"N": str(NOW - 1)})

    monkeypatch.setattr(lock_module.time, "sleep", renewed_meanwhile)

    with pytest.raises(LockHeld) as refused:
        operator().acquire("deploy phase-2")

    assert str(refused.value).endswith("(it renewed the lock while this run waited for it to expire)")
    assert operator().holder()["expires_at"] == NOW - 1  # still the renewing holder's


def test_a_takeover_without_a_version_on_the_record_still_waits_for_it_unchanged(table, clocks) -> None:
    operator, dynamodb = table
    lock_record(dynamodb, token={"S": "old"}, expires_at={"N": str(NOW - 1)})
    lock = operator()

    lock.acquire("deploy phase-2")

    assert lock.confirm() is True


def test_renewing_extends_the_lease_and_fails_once_another_holds_the_lock(table, monkeypatch) -> None:
    from snailtrail.state import lock as lock_module

    operator, _ = table
    lock = operator()
    lock.acquire("deploy phase-2")
    monkeypatch.setattr(lock_module.time, "time", lambda: NOW + 100)

    assert lock.renew() is True
    assert operator().holder()["expires_at"] == NOW + 100 + lock_module.LEASE_S

    operator().force_remove()
    operator().acquire("deploy phase-3")
    assert lock.renew() is False


def test_a_renewal_that_fails_for_another_reason_raises_to_be_retried(table) -> None:
    operator, _ = table
    lock = operator("no-such-table")
    with pytest.raises(Exception) as failed:
        lock.renew()
    assert not isinstance(failed.value, LockHeld)


def test_confirm_says_the_lock_is_lost_once_removed_and_keeps_saying_so(table) -> None:
    operator, _ = table
    lock = operator()
    lock.acquire("deploy phase-2")
    assert lock.confirm() is True

    operator().force_remove()

    assert lock.confirm() is False and lock.lost.is_set()
    lock.acquire("deploy phase-2")  # even holding it again, a run that lost it once stops
    assert lock.confirm() is False


def test_confirm_leaves_an_unreadable_table_to_the_renewals(table) -> None:
    operator, _ = table
    lock = operator("no-such-table")

    assert lock.confirm() is True and not lock.lost.is_set()


def test_releasing_removes_only_this_runs_lock(table) -> None:
    operator, _ = table
    mine = operator()
    mine.acquire("deploy phase-2")
    mine.release()
    assert operator().holder() is None

    operator().acquire("deploy phase-3")
    mine.release()  # taken over meanwhile: not ours to remove
    assert operator().holder()["command"] == "deploy phase-3"


def test_unlock_force_removes_the_printed_holder_and_returns_it(table) -> None:
    operator, dynamodb = table
    assert operator().force_remove() is None  # nothing to remove

    operator().acquire("deploy phase-2")
    removed = operator().force_remove()
    assert removed["command"] == "deploy phase-2" and operator().holder() is None

    lock_record(dynamodb, expires_at={"N": str(NOW + 300)}, command={"S": "half-written"})
    assert operator().force_remove()["malformed"] == "no token"
    assert operator().holder() is None


def test_a_missing_state_table_is_named_with_how_to_create_it(table) -> None:
    from snailtrail.errors import ConfigError

    operator, _ = table

    with pytest.raises(ConfigError) as refused:
        operator("no-such-table").acquire("deploy phase-2")

    assert str(refused.value) == (
        "the state table no-such-table does not exist (it holds the deploy lock and the trail)"
    )
    assert refused.value.fix == "create it (pk and sk string keys, on demand); `sandbox up` does it in the sandbox"
    with pytest.raises(ConfigError):
        operator("no-such-table").holder()


def test_holding_the_lock_releases_it_when_the_block_raises(table) -> None:
    operator, _ = table
    with pytest.raises(RuntimeError), operator().held("deploy phase-2"):
        assert operator().holder()["command"] == "deploy phase-2"
        raise RuntimeError("the deploy failed")

    assert operator().holder() is None


def test_a_holder_whose_renewal_finds_the_lock_taken_stops_trusting_it(table, monkeypatch) -> None:
    from snailtrail.state import lock as lock_module

    operator, _ = table
    monkeypatch.setattr(lock_module, "RENEW_EVERY_S", 0.01)
    lock = operator()
    with lock.held("deploy phase-2"):
        operator().force_remove()
        operator().acquire("deploy phase-3")
        assert lock.lost.wait(10)

    assert operator().holder()["command"] == "deploy phase-3"


def test_a_holder_that_cannot_renew_for_most_of_a_lease_stops_trusting_it(table, monkeypatch) -> None:
    from snailtrail.state import lock as lock_module

    operator, _ = table
    monkeypatch.setattr(lock_module, "RENEW_EVERY_S", 0.01)
    monkeypatch.setattr(lock_module, "LEASE_S", 0.05)  # renewals stop being trusted after 0.04 s without one
    lock = operator()

    def throttled() -> bool:
        raise RuntimeError("ThrottlingException")

    with lock.held("deploy phase-2"):
        monkeypatch.setattr(lock, "renew", throttled)
        assert lock.lost.wait(10)


@pytest.mark.parametrize(
    ("holder", "gone"),
    [
        ({"host": "this", "pid": "dead"}, True),
        ({"host": "this", "pid": "alive"}, False),
        ({"host": "another-host", "pid": "dead"}, False),
        ({"host": "this", "pid": "?"}, False),
        ({"host": "this", "pid": "0"}, False),
    ],
)
def test_a_lock_held_by_a_dead_process_of_this_host_is_said_to_be_gone(holder: dict, gone: bool) -> None:
    import os
    import socket
    import subprocess
    import sys

    from snailtrail.state.lock import holder_gone

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pids = {"dead": finished.stdout.strip(), "alive": str(os.getpid())}
    host = socket.gethostname() if holder["host"] == "this" else holder["host"]

    assert holder_gone({"host": host, "pid": pids.get(holder["pid"], holder["pid"])}) is gone


def test_a_lock_released_while_a_second_operator_reads_it_is_taken_on_the_next_try(table, monkeypatch) -> None:
    operator, _ = table
    first, second = operator(), operator()
    first.acquire("deploy phase-2")
    read = second._item

    def released_meanwhile() -> dict | None:
        first.release()
        monkeypatch.setattr(second, "_item", read)
        return None

    monkeypatch.setattr(second, "_item", released_meanwhile)

    second.acquire("deploy phase-3")

    assert second.confirm() is True and operator().holder()["command"] == "deploy phase-3"


def test_a_malformed_lock_another_operator_replaces_first_is_theirs(table, monkeypatch) -> None:
    operator, dynamodb = table
    lock_record(dynamodb, expires_at={"N": str(NOW + 300)})  # no token
    other, late = operator(), operator()
    read = late._item

    def replaced_meanwhile() -> dict | None:
        malformed = read()
        other.acquire("deploy phase-9")  # takes over the malformed record first
        monkeypatch.setattr(late, "_item", read)
        return malformed

    monkeypatch.setattr(late, "_item", replaced_meanwhile)

    with pytest.raises(LockHeld, match="running `deploy phase-9`"):
        late.acquire("deploy phase-3")

    assert late.confirm() is False and other.confirm() is True


def test_unlock_force_removes_the_printed_holder_even_if_it_renewed_meanwhile(table, monkeypatch) -> None:
    operator, _ = table
    holder, admin = operator(), operator()
    holder.acquire("deploy phase-2")
    read = admin._item

    def renewed_after_the_read() -> dict | None:
        item = read()
        holder.renew()
        return item

    monkeypatch.setattr(admin, "_item", renewed_after_the_read)

    assert admin.force_remove()["command"] == "deploy phase-2"
    assert operator().holder() is None


def test_unlock_force_leaves_a_lock_taken_after_the_holder_it_printed(table, monkeypatch) -> None:
    from botocore.exceptions import ClientError

    operator, _ = table
    printed, newer, admin = operator(), operator(), operator()
    printed.acquire("deploy phase-2")
    read = admin._item

    def replaced_after_the_read() -> dict | None:
        item = read()
        printed.release()
        newer.acquire("deploy phase-3")
        return item

    monkeypatch.setattr(admin, "_item", replaced_after_the_read)

    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        admin.force_remove()

    assert operator().holder()["command"] == "deploy phase-3"


def test_an_expired_lock_another_operator_takes_over_first_is_theirs(table, clocks, monkeypatch) -> None:
    operator, dynamodb = table
    lock_record(dynamodb, token={"S": "gone"}, version={"S": "v1"}, expires_at={"N": str(NOW - 1)})
    late = operator()
    put = late._put

    def another_takes_it_over_first(command: str, replacing: dict | None) -> bool:
        if replacing is not None:  # this run's takeover, a whole lease later: another operator's came first
            lock_record(dynamodb, token={"S": "quicker"}, expires_at={"N": str(NOW + 300)}, command={"S": "deploy x"})
        return put(command, replacing)

    monkeypatch.setattr(late, "_put", another_takes_it_over_first)

    with pytest.raises(LockHeld) as refused:
        late.acquire("deploy phase-3")

    assert str(refused.value).endswith("running `deploy x` since ?")  # not said to have renewed: it took over
    assert late.confirm() is False


def test_an_expired_lock_replaced_by_another_expired_one_is_watched_again_for_a_whole_lease(
    table, clocks, monkeypatch
) -> None:
    operator, dynamodb = table
    lock_record(dynamodb, token={"S": "gone"}, version={"S": "v1"}, command={"S": "deploy a"}, expires_at={"N": "1"})
    late, said = operator(), []
    put = late._put

    def replaced_by_another_stale_one(command: str, replacing: dict | None) -> bool:
        if replacing is not None and attribute_content(replacing["token"]) == "gone":
            lock_record(dynamodb, token={"S": "gone too"}, command={"S": "deploy b"}, expires_at={"N": "2"})
        return put(command, replacing)

    monkeypatch.setattr(late, "_put", replaced_by_another_stale_one)

    late.acquire("deploy phase-3", said.append)

    assert [line.split("`")[1] for line in said] == ["deploy a", "deploy b"]
    assert late.confirm() is True
