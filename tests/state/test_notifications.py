"""Webhooks: deploys, rollbacks and failures are posted as Slack-compatible JSON; a failing webhook
never fails the deploy, and the trail says it failed."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import CRASHING, Sandbox

GOOD_1 = "fake.local/shine:phase-1-good"


class Hook:
    """A webhook on 127.0.0.1 answering ``status`` (after ``delay_s``) and keeping what it was sent."""

    def __init__(self) -> None:
        self.status = 200
        self.delay_s = 0.0
        self.received: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append(json.loads(body))
                time.sleep(hook.delay_s)
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    served = Hook()
    yield served
    served.server.shutdown()


def configure(sandbox: Sandbox, *webhooks: dict[str, str]) -> None:
    sandbox.edit_config(lambda d: d["environments"]["unit"].update(notifications={"webhooks": list(webhooks)}))


def trail_kinds(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sandbox.run("trail", "--format", "json").json()["events"]


def test_a_deploy_is_posted_with_phase_outcome_and_where_the_trail_is(sandbox: Sandbox, hook: Hook) -> None:
    configure(sandbox, {"url": hook.url})
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    [posted] = hook.received
    assert "phase-1" in posted["text"] and "succeeded" in posted["text"]
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in posted["blocks"][1]["fields"]}
    assert fields["*Phase*"] == "phase-1" and fields["*Outcome*"] == "succeeded" and fields["*Environment*"] == "unit"
    assert "snailtrail --env unit trail" in posted["blocks"][-1]["elements"][0]["text"]


def test_a_failed_deploy_posts_the_failure_with_its_fix_and_the_rollback(
    sandbox: Sandbox, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_HOOK_URL", hook.url)
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    configure(sandbox, {"url_env": "DEPLOY_HOOK_URL"})
    sandbox.break_phase("phase-2", CRASHING)
    assert sandbox.deploy("phase-2", "fake.local/shine:phase-2-crash").exit_code == 1
    texts = [posted["text"] for posted in hook.received]
    assert [t.split(":")[0] for t in texts] == [
        "snailtrail deploy failed of phase-2 to unit (shine)",
        "snailtrail rollback of phase-1 to unit (shine)",
        "snailtrail deploy of phase-2 to unit (shine)",
    ]
    assert "FAILED" in texts[0] and "Fix: read the stopped reasons" in texts[0]
    assert "succeeded" in texts[1] and "FAILED" in texts[2]


def test_a_failing_webhook_never_fails_the_deploy_and_the_trail_says_so(
    sandbox: Sandbox, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook.status = 500
    configure(sandbox, {"url": hook.url})
    result = sandbox.deploy("phase-1", GOOD_1)
    assert result.exit_code == 0
    assert len(hook.received) == 2  # one retry, then no more
    [failed] = [e for e in trail_kinds(sandbox) if e["kind"] == "notification.failed"]
    assert "answered HTTP 500 (2 attempts)" in failed["detail"] and failed["data"]["event"] == "deploy.finished"
    assert "was not told of deploy.finished" in result.stderr


def test_a_webhook_that_times_out_is_given_up_within_the_bound(
    sandbox: Sandbox, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snailtrail.state import notifications

    monkeypatch.setattr(notifications, "POST_TIMEOUT_S", 0.2)
    hook.delay_s = 1.0
    configure(sandbox, {"url": hook.url})
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    [failed] = [e for e in trail_kinds(sandbox) if e["kind"] == "notification.failed"]
    assert "not reached" in failed["detail"]


def test_an_unset_url_variable_is_recorded_not_ignored(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOY_HOOK_URL", raising=False)
    configure(sandbox, {"url_env": "DEPLOY_HOOK_URL"})
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    [failed] = [e for e in trail_kinds(sandbox) if e["kind"] == "notification.failed"]
    assert "DEPLOY_HOOK_URL is not set" in failed["detail"]


@pytest.mark.parametrize(
    "webhook, says",
    [
        (
            {"url": "https://hooks.slack.com/services/T0AAAA/B0BBBB/abcdefghijklmnopqrstuvwx"},
            "looks like it carries a secret",
        ),
        ({"url": "https://chat.example.com/hook?token=abc"}, "looks like it carries a secret"),
        ({"url": "https://chat.example.com/hook", "url_env": "HOOK"}, "either url_env"),
        ({"url_env": "not a name"}, "url_env"),
    ],
)
def test_a_secret_looking_or_ambiguous_webhook_is_refused_with_exit_2(
    sandbox: Sandbox, webhook: dict[str, str], says: str
) -> None:
    configure(sandbox, webhook)
    result = sandbox.run("status")
    assert result.exit_code == 2 and says in result.stderr and "notifications" in result.stderr


def test_a_held_deployment_is_posted_with_what_waits_the_evidence_and_both_commands(
    sandbox: Sandbox, hook: Hook
) -> None:
    from snailtrail.config.settings import load_settings
    from snailtrail.state.notifications import Notifier
    from snailtrail.state.trail import Event
    from snailtrail.ui import Reporter

    configure(sandbox, {"url": hook.url})
    notifier = Notifier(load_settings(str(sandbox.config)), None, Reporter(quiet=True))  # type: ignore[arg-type]
    detail = (
        "phase-1 waits at POST_TEST_TRAFFIC_SHIFT for an operator; evidence: POST_TEST_TRAFFIC_SHIFT: 2 success "
        "criteria passed. Continue: `snailtrail promote --env unit`; roll back: `snailtrail abort --env unit`"
    )
    notifier(Event(kind="deployment.held", run_id="r1", phase="phase-1", detail=detail))
    [posted] = hook.received
    assert "waiting for promote or abort" in posted["text"]
    assert "`snailtrail promote --env unit`" in posted["text"] and "`snailtrail abort --env unit`" in posted["text"]
    assert "2 success criteria passed" in posted["blocks"][0]["text"]["text"]
    assert not any("*Fix*" in block.get("text", {}).get("text", "") for block in posted["blocks"])


@pytest.fixture
def not_http() -> Iterator[str]:
    """A webhook whose server answers with something other than HTTP, then hangs up."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def answer() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    answering = threading.Thread(target=answer, daemon=True)
    answering.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    # Joined before the socket is closed: a thread left in accept() could take a later test's connection
    # once the descriptor's number is reused.
    stop.set()
    answering.join()
    server.close()


def deploy_crashing_phase_2(sandbox: Sandbox) -> Any:
    sandbox.break_phase("phase-2", CRASHING)
    return sandbox.deploy("phase-2", "fake.local/shine:phase-2-crash")


@pytest.mark.parametrize("fault", ["not HTTP", "a space in the URL"])
def test_a_webhook_fault_of_any_kind_never_stops_the_rollback(
    sandbox: Sandbox, not_http: str, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    verified = sandbox.run("status", "--json").json()["task_definition"]
    url = not_http if fault == "not HTTP" else "http://127.0.0.1:9/services/T0AAAA/B0BBBB/hook token"
    monkeypatch.setenv("DEPLOY_HOOK_URL", url)
    configure(sandbox, {"url_env": "DEPLOY_HOOK_URL"})
    result = deploy_crashing_phase_2(sandbox)
    # Exit 1 is the contract's "failed and rolled back": it must be true.
    assert result.exit_code == 1, result.stderr
    assert sandbox.run("status", "--json").json()["task_definition"] == verified
    events = trail_kinds(sandbox)
    assert any(e["kind"] == "rollback.finished" and e.get("ok") for e in events)
    [failed] = [e for e in events if e["kind"] == "notification.failed"]
    assert failed["data"]["event"] == "deploy.failed"
    assert "hook token" not in result.stderr + json.dumps(events)  # the URL's path is never quoted


def test_the_rollback_is_done_before_the_failure_is_posted(
    sandbox: Sandbox, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    configure(sandbox, {"url": hook.url})
    updates_when_posted: list[int] = []
    from snailtrail.state import notifications

    real_post = notifications.post

    def post_counting(url: str, payload: dict[str, Any]) -> None:
        updates_when_posted.append(sandbox.api_calls["ecs.UpdateService"])
        real_post(url, payload)

    monkeypatch.setattr(notifications, "post", post_counting)
    sandbox.api_calls.clear()
    assert deploy_crashing_phase_2(sandbox).exit_code == 1
    # The deploy's update, then the rollback's: both made before the failure was posted.
    assert updates_when_posted[0] == 2 == sandbox.api_calls["ecs.UpdateService"]


def test_an_observer_that_raises_is_recorded_as_notification_failed_and_nothing_else(tmp_path: Any) -> None:
    from snailtrail.state.trail import Event, Trail

    trail = Trail(None, "table", "unit", "shine", tmp_path)

    def broken(event: Event) -> None:
        raise UnicodeEncodeError("latin-1", "x", 0, 1, "bad")

    trail.observers.append(broken)
    trail.emit(Event(kind="deploy.failed", run_id="r1"))
    kinds = [e["kind"] for e in trail.events()]
    assert kinds == ["deploy.failed", "notification.failed"]
