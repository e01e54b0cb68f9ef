"""Faults injected into every AWS call of deploy and rollback, below botocore's retries.

A `before-send` hook, registered ahead of moto's, answers some requests with throttling, 5xx or a
dropped connection instead of sending them. Whatever happens, snailtrail must never report a
success it did not verify, must release the lock, and must leave a consistent trail.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError

from tests.conftest import CRASHING, Sandbox

GOOD_1 = "fake.local/shine:phase-1-good"
GOOD_2 = "fake.local/shine:phase-2-good"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


FAULT_KINDS = ("throttle", "5xx", "connection")


class FaultPlan:
    """Which AWS calls fail, each decided by the call alone: the seed, its operation, and how many calls
    of that operation its thread made before.

    The lock's renewal thread calls DynamoDB when its clock says so: a random generator shared with it
    would hand the deploy's calls different faults from run to run. Counting per thread and operation
    keeps each thread's faults the same whenever the others call."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self.seed = seed
        self._sent = threading.local()

    def fault(self, operation: str) -> str | None:
        """The fault for this call of ``operation`` (ecs.UpdateService...), or None to send it."""
        counts: Counter[str] = self._sent.__dict__.setdefault("counts", Counter())
        index = counts[operation]
        counts[operation] += 1
        digest = hashlib.sha256(f"{self.seed}:{operation}:{index}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 >= self.rate:
            return None
        return FAULT_KINDS[digest[8] % len(FAULT_KINDS)]


def inject(monkeypatch: pytest.MonkeyPatch, rate: float, seed: int) -> Counter[str]:
    """Fail `rate` of all AWS requests (reproducibly, FaultPlan) with a retryable fault; count what was injected."""
    from snailtrail.aws import session

    plan = FaultPlan(rate, seed)
    injected: Counter[str] = Counter()
    original = session.AwsClients.__post_init__

    def fault(request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        kind = plan.fault(event_name.removeprefix("before-send."))
        if kind is None:
            return None
        injected[kind] += 1
        if kind == "connection":
            raise ConnectionClosedError(endpoint_url=request.url)
        code, status = ("ThrottlingException", 400) if kind == "throttle" else ("ServiceUnavailable", 503)
        # Each protocol's own error document, as AWS sends it, so botocore parses and retries it.
        content_type = request.headers.get("Content-Type") or b""
        if b"json" in (content_type if isinstance(content_type, bytes) else content_type.encode()):
            body = b'{"__type":"%s","message":"injected"}' % code.encode()
            return AWSResponse(request.url, status, {"x-amzn-ErrorType": code}, _Raw(body))
        body = (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>injected</Message></Error>"
            b"<RequestId>1</RequestId></ErrorResponse>" % code.encode()
        )
        return AWSResponse(request.url, status, {}, _Raw(body))

    def hooked(self: Any) -> None:
        original(self)
        self._session.events.register_first("before-send", fault)

    monkeypatch.setattr(session.AwsClients, "__post_init__", hooked)
    return injected


def assert_consistent(sandbox: Sandbox, result: Any) -> None:
    body = result.json()
    status = sandbox.run("status", "--json").json()
    assert status["lock"] is None, "the lock must be released on every exit path"
    events = sandbox.run("trail", "--format", "json").json()["events"]
    assert events[-1]["kind"] in ("deploy.finished", "rollback.finished")
    if result.exit_code == 0:
        assert body["ok"] and status["task_definition"] == body["task_definition"] and status["verified_at"]
    elif result.exit_code == 1:
        assert status["task_definition"] == body["rolled_back_to"] or not body["rolled_back"]
        assert status["verified_at"], "after exit 1 the service runs a verified revision"
    else:
        assert result.exit_code == 3 and body["message"]


def test_a_calls_fault_depends_on_its_threads_calls_alone_not_on_other_threads() -> None:
    deploy = ["ecs.DescribeServices", "ecs.UpdateService", "ecs.DescribeServices", "dynamodb.PutItem"] * 20
    alone = FaultPlan(0.3, seed=1)
    expected = [alone.fault(operation) for operation in deploy]

    shared = FaultPlan(0.3, seed=1)
    faults = []
    for operation in deploy:
        # The lock's renewal thread, calling in between whenever its clock says so.
        renewal = threading.Thread(target=shared.fault, args=("dynamodb.PutItem",))
        renewal.start()
        renewal.join()
        faults.append(shared.fault(operation))

    assert faults == expected
    assert {None, *FAULT_KINDS} == set(expected)  # the plan sends some calls and fails others, every way
    assert [FaultPlan(0.3, seed=2).fault(operation) for operation in deploy] != expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_deploy_survives_retryable_faults(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    injected = inject(monkeypatch, rate=0.3, seed=seed)
    result = sandbox.deploy("phase-2", GOOD_2, "--json")
    survived = sum(injected.values())
    with sandbox.capsys.disabled():  # the report of faults survived, on the terminal
        print(f"seed {seed}: {survived} faults injected {dict(injected)}, exit {result.exit_code}")
    assert survived > 0
    assert result.exit_code == 0, result.stderr  # adaptive retries absorb throttling, 5xx and dropped connections
    assert_consistent(sandbox, result)


def test_crashing_deploy_under_faults_still_rolls_back_to_verified(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    injected = inject(monkeypatch, rate=0.15, seed=7)
    sandbox.break_phase("phase-2", CRASHING)
    result = sandbox.deploy("phase-2", "fake.local/shine:phase-2-crash", "--json")
    assert sum(injected.values()) > 0
    assert result.exit_code == 1 and result.json()["rolled_back_to"].endswith(":1")
    assert_consistent(sandbox, result)


def test_persistent_failure_of_update_is_never_a_success(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    from snailtrail.aws import session

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    original = session.AwsClients.__post_init__

    def denied(model: Any, **_: Any) -> None:
        if model.name == "UpdateService":
            raise ConnectionClosedError(endpoint_url="https://ecs.us-east-1.amazonaws.com")

    def hooked(self: Any) -> None:
        original(self)
        self._session.events.register_first("before-call", denied)

    with pytest.MonkeyPatch.context() as denial:  # only the deploy runs with the fault
        denial.setattr(session.AwsClients, "__post_init__", hooked)
        result = sandbox.deploy("phase-2", GOOD_2, "--json")
    # The rollback's own UpdateService fails the same way: exit 3, the service needs a human.
    body = result.json()
    assert result.exit_code == 3 and body["ok"] is False
    assert "AWS endpoint unreachable" in body["message"] and "the rollback to" in body["message"]
    status = sandbox.run("status", "--json").json()
    assert status["lock"] is None and status["task_definition"].endswith(":1")
