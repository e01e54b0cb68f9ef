"""Webhooks told of deploys, rollbacks, aborts and failures, as Slack-compatible JSON.

A notifier watches the trail: each event of a kind in NOTIFIED is posted to every webhook of the
environment (``notifications.webhooks``). A webhook that fails (unreachable, a timeout, an answer other
than 2xx) never fails the deploy: it is retried once, then the trail records ``notification.failed``
and the rest of the run does not post to it again, so a dead webhook costs one bounded wait, not one
per event.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_fixed

from snailtrail.config.settings import Settings, WebhookConfig
from snailtrail.redaction import redact_value
from snailtrail.state.trail import Event, Trail
from snailtrail.ui import Reporter

# The events posted, and how a message names them.
NOTIFIED = {
    "deploy.finished": "deploy",
    "deploy.failed": "deploy failed",
    "deploy.interrupted": "deploy interrupted",
    "rollback.finished": "rollback",
    "rollback.impossible": "rollback impossible",
    "rollout.aborted": "rollout aborted",
    "deployment.held": "deploy held for an operator",
    "ecs.rolled-back": "deploy rolled back by ECS",
}
POST_TIMEOUT_S = 3.0
POST_ATTEMPTS = 2
# Slack refuses a section's text over 3000 characters (Block Kit reference, section block).
SECTION_CHARS = 2900


@dataclass
class Webhook:
    label: str  # what the trail and the terminal may show: the variable's name or the literal URL's host
    url: str | None
    unusable: str | None = None  # why nothing is posted to it (any more) in this run
    said: bool = False  # the trail and the terminal have been told why


def resolve(config: WebhookConfig) -> Webhook:
    """The webhook's URL now; an unset or malformed variable makes it unusable, said when it is first needed."""
    if config.url is not None:
        return Webhook(f"webhook at {urlsplit(config.url).hostname}", config.url)
    label = f"webhook ${config.url_env}"
    url = os.environ.get(config.url_env or "", "").strip()
    if not url:
        return Webhook(label, None, f"environment variable {config.url_env} is not set")
    if not url.startswith(("http://", "https://")):
        return Webhook(label, None, f"environment variable {config.url_env} does not hold an http(s) URL")
    return Webhook(label, url)


class RetryablePost(Exception):
    """The webhook may answer next time: no connection, a timeout, 429 or 5xx."""


@retry(
    stop=stop_after_attempt(POST_ATTEMPTS),
    wait=wait_fixed(0.5),
    retry=retry_if_exception_type(RetryablePost),
    reraise=True,
)
def post(url: str, payload: dict[str, Any]) -> None:
    """POST the JSON payload; raises with the reason unless the answer is 2xx."""
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s) before
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as answer:  # noqa: S310
            status = answer.status
    except HTTPError as exc:
        if exc.code == 429 or exc.code >= 500:
            raise RetryablePost(f"answered HTTP {exc.code}") from exc
        raise OSError(f"answered HTTP {exc.code}") from exc
    except OSError as exc:  # URLError (no connection), TimeoutError
        raise RetryablePost(f"not reached: {getattr(exc, 'reason', exc)}") from exc
    if not 200 <= status < 300:
        raise OSError(f"answered HTTP {status}")


def failure_reason(exc: Exception) -> str:
    """Why a post failed, in words that never quote the URL (its path or query may be the webhook's secret)."""
    if isinstance(exc, http.client.InvalidURL | UnicodeError):
        return f"its URL cannot be sent as it is (a space, a control or a non-ASCII character: {type(exc).__name__})"
    if isinstance(exc, OSError):
        return str(exc)  # post's own words: "answered HTTP 4xx"
    return f"it did not answer as an HTTP server does ({type(exc).__name__})"


def message(event: Event, settings: Settings) -> dict[str, Any]:
    """Slack-compatible JSON: ``text`` (also the fallback other chat tools show) and Block Kit ``blocks``."""
    what = NOTIFIED[event.kind]
    failed = event.kind in ("deploy.failed", "rollback.impossible") or event.ok is False
    outcome = {
        "rollout.aborted": "aborted",
        "deploy.interrupted": "interrupted",
        "deployment.held": "waiting for promote or abort",
        "ecs.rolled-back": "rolled back by ECS",
    }.get(event.kind, "FAILED" if failed else "succeeded")
    environment, service = settings.environment_name, settings.service.name
    title = f"snailtrail {what} of {event.phase or 'no phase'} to {environment} ({service}): {outcome}"
    fix = event.data.get("fix") or (
        None
        if outcome in ("succeeded", "waiting for promote or abort")
        else "`snailtrail status` shows what runs; `snailtrail trail` tells the run"
    )
    trail = (
        f"trail: `snailtrail --env {environment} trail` (state table {settings.environment.state_table}, "
        f"key trail#{environment}#{service}, run {event.run_id})"
    )
    fields = [
        ("Phase", event.phase or "-"),
        ("Outcome", outcome),
        ("Environment", environment),
        ("By", event.actor),
    ]
    if event.task_definition:
        fields.append(("Task definition", event.task_definition.rsplit("/", 1)[-1]))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{event.detail}"[:SECTION_CHARS]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in fields]},
    ]
    if fix:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Fix*\n{fix}"[:SECTION_CHARS]}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": trail}]})
    text = f"{title}: {event.detail}" + (f" Fix: {fix}" if fix else "") + f" ({trail})"
    return {"text": text, "blocks": blocks}


class Notifier:
    """A trail observer posting the NOTIFIED events to the environment's webhooks."""

    def __init__(self, settings: Settings, trail: Trail, reporter: Reporter) -> None:
        self._settings = settings
        self._trail = trail
        self._reporter = reporter
        notifications = settings.environment.notifications
        self._hooks = [resolve(config) for config in (notifications.webhooks if notifications else [])]

    def __call__(self, event: Event) -> None:
        if event.kind not in NOTIFIED:
            return
        payload = redact_value(message(event, self._settings))
        for hook in self._hooks:
            if hook.said:
                continue  # failed earlier in this run, and said so then
            if hook.unusable is None and hook.url is not None:
                try:
                    post(hook.url, payload)
                    continue
                except RetryablePost as exc:
                    hook.unusable = f"{exc} ({POST_ATTEMPTS} attempts)"
                except Exception as exc:  # noqa: BLE001 - whatever the webhook does, the deploy goes on
                    hook.unusable = failure_reason(exc)
            self._failed(hook, event)

    def _failed(self, hook: Webhook, event: Event) -> None:
        """Said once a webhook: on the terminal, and in the trail as notification.failed."""
        said = f"{hook.label} was not told of {event.kind}: {hook.unusable}; the deploy goes on"
        self._reporter.warn(said + " (nothing more is posted to it in this run)")
        hook.said = True
        self._trail.emit(
            Event(
                kind="notification.failed",
                run_id=event.run_id,
                phase=event.phase,
                detail=said,
                ok=False,
                data={"webhook": hook.label, "event": event.kind},
            )
        )
