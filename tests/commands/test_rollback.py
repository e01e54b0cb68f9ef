"""rollback against the in-process sandbox: the target is what was live before the current deployment."""

from __future__ import annotations

import boto3
import pytest

from tests.commands.test_deploy import GOOD_1, GOOD_2, served_phase
from tests.conftest import CRASHING, Sandbox
from tests.state.test_lock import other_operator

FAST = ("--timeout", "20", "--poll-interval", "0.05")


class Killed(BaseException):
    """kill -9: nothing after it runs, no handler, no trail event."""


def kill_after_the_update(monkeypatch: pytest.MonkeyPatch) -> None:
    from snailtrail.run import service_ops

    def killed(*args: object, **kwargs: object) -> None:
        raise Killed

    monkeypatch.setattr(service_ops, "watch_deployment", killed)


def lose_the_trail(sandbox: Sandbox) -> None:
    """The trail gone, its table items and the local cache alike: only the revisions' verified tags remain."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    items = dynamodb.query(
        TableName="snailtrail-state",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "trail#unit#shine"}},
    )["Items"]
    for item in items:
        dynamodb.delete_item(TableName="snailtrail-state", Key={"pk": item["pk"], "sk": item["sk"]})
    for cache in sandbox.root.rglob("trail-*.jsonl"):
        cache.unlink()


def test_after_a_killed_deploy_of_an_older_phase_rollback_returns_to_what_ran_before(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0  # revision 1, verified first
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0  # revision 2, verified later, live
    with monkeypatch.context() as patch:
        kill_after_the_update(patch)
        with pytest.raises(Killed):
            sandbox.deploy("phase-1", GOOD_1)  # reuses revision 1 and dies after pointing the service at it
    events = sandbox.run("trail", "--format", "json").json()["events"]
    assert [e["kind"] for e in events].count("deploy.started") == 3
    assert [e["kind"] for e in events].count("deploy.finished") == 2  # the killed one never finished
    assert events[-1]["data"]["step"] == "update" and events[-1]["task_definition"].endswith(":1")
    other_operator(sandbox).acquire("deploy phase-1")  # the dead process's lock, as kill -9 leaves it
    assert sandbox.run("unlock", "--force").exit_code == 0

    result = sandbox.run("rollback", *FAST, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["rolled_back_to"].endswith(":2")
    assert served_phase(sandbox) == "hybrid"
    assert sandbox.run("status", "--json").json()["task_definition"].endswith(":2")


def test_after_a_change_outside_snailtrail_rollback_returns_to_what_snailtrail_ran_last(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    # Someone points the service back at revision 1 in the console: verified, but earlier than 2.
    ecs = boto3.client("ecs", region_name="us-east-1")
    ecs.update_service(cluster="shine", service="shine", taskDefinition="shine:1")

    listed = sandbox.run("rollback", "--list", "--json").json()
    assert listed["current"].endswith(":1") and listed["default_target"].endswith(":2")

    result = sandbox.run("rollback", *FAST, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["rolled_back_to"].endswith(":2")
    assert served_phase(sandbox) == "hybrid"


def test_list_shows_each_candidate_newest_first_and_why(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-1", "fake.local/shine:phase-1-b").exit_code == 0
    assert sandbox.deploy("phase-3", "fake.local/shine:phase-3-good", "--no-rollback").exit_code == 1  # never verifies
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    ecs = boto3.client("ecs", region_name="us-east-1")
    ecs.deregister_task_definition(taskDefinition="shine:2")
    sandbox.api_calls.clear()

    result = sandbox.run("rollback", "--list", "--json")
    assert result.exit_code == 0, result.stderr
    listed = result.json()
    rows = {c["task_definition"].rsplit(":", 1)[1]: c for c in listed["candidates"]}
    assert [c["task_definition"].rsplit(":", 1)[1] for c in listed["candidates"]] == ["4", "3", "2", "1"]
    assert rows["4"]["reason"].startswith("the current revision") and not rows["4"]["eligible"]
    assert rows["3"]["reason"] == "never verified" and rows["3"]["phase"] == "phase-3"
    assert rows["2"]["reason"].startswith("INACTIVE") and rows["2"]["verified_at"]
    assert rows["1"]["default"] and rows["1"]["eligible"] and rows["1"]["last_live_at"]
    assert listed["default_target"].endswith(":1")
    assert sandbox.mutating_calls() == []

    human = sandbox.run("rollback", "--list")
    assert "→ shine:1" in human.stdout and "✗ shine:2" in human.stdout and "INACTIVE" in human.stdout

    back = sandbox.run("rollback", *FAST, "--json")
    assert back.exit_code == 0 and back.json()["rolled_back_to"].endswith(":1")


def test_rollback_with_nothing_verified_exits_3_and_changes_nothing(sandbox: Sandbox) -> None:
    sandbox.break_phase("phase-1", SHINE_DRILL_HEALTH="failing")
    first = sandbox.deploy("phase-1", "fake.local/shine:phase-1-unhealthy", "--no-rollback")
    assert first.exit_code == 1  # the service runs revision 1, never verified
    sandbox.api_calls.clear()
    result = sandbox.run("rollback", *FAST, "--json")
    assert result.exit_code == 3
    assert "no verified deployment other than the current" in result.json()["error"]
    assert "ecs.UpdateService" not in sandbox.api_calls
    assert sandbox.run("status", "--json").json()["task_definition"].endswith(":1")


def test_rollback_to_a_verified_target_that_now_crashes_exits_3(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.in_memory_runtime import InMemoryRuntime

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    # Revision 1's image now crashes on start (say a dependency it needs is gone).
    start = InMemoryRuntime.start

    def crashing(self: InMemoryRuntime, task_id: str, container: dict, namespace: str | None = None) -> str:
        if container["image"] == GOOD_1:
            container = container | {"command": CRASHING}
        return start(self, task_id, container, namespace)

    monkeypatch.setattr(InMemoryRuntime, "start", crashing)
    result = sandbox.run("rollback", *FAST, "--json")
    assert result.exit_code == 3
    body = result.json()
    assert body["ok"] is False and body["rolled_back_to"].endswith(":1") and "rollout failed" in body["message"]
    # The service is left on the target (ECS keeps trying it); the trail says the rollback failed.
    assert sandbox.run("status", "--json").json()["task_definition"].endswith(":1")
    events = sandbox.run("trail", "--format", "json").json()["events"]
    assert [e["ok"] for e in events if e["kind"] == "rollback.finished"] == [False]


def test_an_interrupted_rollback_exits_130_and_a_second_rollback_finishes_it(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snailtrail.run import service_ops

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    with monkeypatch.context() as patch:

        def interrupted(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt  # Ctrl-C while the rollback waits for the rollout

        patch.setattr(service_ops, "watch_deployment", interrupted)
        stopped = sandbox.run("rollback", *FAST, "--json")
    assert stopped.exit_code == 130 and stopped.json()["error"] == "interrupted"
    assert "`snailtrail rollback` finishes it" in stopped.json()["message"]
    # The service was already pointed at the target; the trail shows a rollback that never finished.
    assert sandbox.run("status", "--json").json()["task_definition"].endswith(":1")
    kinds = [e["kind"] for e in sandbox.run("trail", "--format", "json").json()["events"]]
    assert kinds.count("rollback.started") == 1 and "rollback.finished" not in kinds
    assert kinds[-1] == "rollback.interrupted"

    listed = sandbox.run("rollback", "--list", "--json").json()
    assert listed["default_target"].endswith(":1")
    assert next(c for c in listed["candidates"] if c["default"])["reason"].startswith(
        "default: finishes the interrupted"
    )
    finished = sandbox.run("rollback", *FAST, "--json")
    assert finished.exit_code == 0, finished.stderr
    # Finishes the interrupted rollback (wait and verify revision 1) rather than going back to 2.
    assert finished.json()["rolled_back_to"].endswith(":1")
    assert served_phase(sandbox) == "simple"


def test_without_a_trail_the_most_recently_verified_revision_is_the_default(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    # The trail is gone (table items and the local cache): only the verified tags remain.
    lose_the_trail(sandbox)

    listed = sandbox.run("rollback", "--list", "--json").json()
    default = next(c for c in listed["candidates"] if c["default"])
    assert default["task_definition"].endswith(":1") and default["reason"].startswith("default: the most recently")
    assert default["last_live_at"] is None


def test_a_copy_carrying_a_verified_tag_is_never_a_rollback_target(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    # ecs-deploy's deploy --image: revision 2 runs another image under revision 1's tags, verified-at included.
    copy = sandbox.copy_revision("fake.local/shine:phase-1-other", keep_tags=True)
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0

    refused = sandbox.run("rollback", "--to", copy, *FAST)
    assert refused.exit_code == 2 and "not the one verified" in refused.stderr

    # The trail lost, the default is the most recently verified revision: revision 1, not its newer copy.
    lose_the_trail(sandbox)
    listed = {
        c["task_definition"].rsplit(":", 1)[1]: c
        for c in sandbox.run("rollback", "--list", "--json").json()["candidates"]
    }
    assert listed["1"]["default"] and not listed["2"]["eligible"]
    assert "verified-at tag is a copy" in listed["2"]["reason"]
