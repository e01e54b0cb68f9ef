"""A phase's success criteria, judged through the public endpoint and the target group.

A phase is complete only when these pass against what users reach (incident 12 of docs/incidents.md);
awsvpc tasks are judged by probes and target health, never by ``networkBindings`` (incident 3).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tenacity import RetryError, retry, retry_if_result, stop_after_attempt, wait_fixed

from snailtrail.checks.base import CheckResult, fail, ok
from snailtrail.config.phases import HttpProbe, Phase

PROBE_TIMEOUT_S = 5.0
Answer = TypeVar("Answer")


@dataclass(frozen=True)
class HttpAnswer:
    status: int | None
    body: Any = None
    error: str | None = None


def client_context(ca_file: str | None) -> ssl.SSLContext | None:
    """The TLS context of snailtrail's own HTTP calls: the sandbox's certificate as the one trust anchor when one
    is given, else None (urllib's default: the system's trust store). Never unverified."""
    return ssl.create_default_context(cafile=ca_file) if ca_file is not None else None


def fetch(url: str, method: str = "GET", timeout: float = PROBE_TIMEOUT_S, ca_file: str | None = None) -> HttpAnswer:
    """``ca_file``: the sandbox's certificate, trusted besides nothing else; None: the system's trust store."""
    if not url.startswith(("http://", "https://")):
        return HttpAnswer(None, error=f"not an HTTP URL: {url}")
    request = urllib.request.Request(url, method=method, headers={"User-Agent": "snailtrail-probe"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=client_context(ca_file)) as response:  # noqa: S310 - http(s) only, checked above
            raw = response.read(1_000_000)
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(1_000_000), exc.code
    except (urllib.error.URLError, OSError) as exc:
        return HttpAnswer(None, error=str(getattr(exc, "reason", exc)))
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw[:200].decode("utf-8", "replace")
    return HttpAnswer(status, body)


def _mismatch(probe: HttpProbe, answer: HttpAnswer) -> str | None:
    """Why the answer does not meet the probe, or None when it does."""
    if answer.status is None:
        return f"no answer ({answer.error})"
    if answer.status != probe.status:
        return f"status {answer.status}, expected {probe.status}"
    for field_name, expected in probe.json_fields.items():
        actual = answer.body.get(field_name) if isinstance(answer.body, dict) else None
        if actual != expected:
            return f"JSON field {field_name!r} is {actual!r}, expected {expected!r}"
    return None


def retry_until(
    judge: Callable[[], tuple[Answer, str | None]], attempts: int, interval_s: float
) -> tuple[Answer, str | None]:
    """Ask until the judge finds no problem or the attempts run out (bounded); the last verdict."""
    last: list[tuple[Answer, str | None]] = []

    @retry(
        stop=stop_after_attempt(attempts),
        wait=wait_fixed(interval_s),
        retry=retry_if_result(lambda outcome: outcome[1] is not None),
    )
    def attempt() -> tuple[Answer, str | None]:
        last.append(judge())
        return last[-1]

    try:
        return attempt()
    except RetryError:
        return last[-1]


def http_probes(
    phase: Phase, base_url: str, attempts: int | None = None, ca_file: str | None = None
) -> list[CheckResult]:
    """The phase's probes; retried as the manifest says during a deploy, ``attempts`` times in verify.
    ``ca_file``: the sandbox's certificate (fetch)."""
    criteria = phase.manifest.success
    tries = attempts or criteria.attempts
    results = []
    for probe in criteria.http:
        url = base_url.rstrip("/") + probe.path

        def judge(url: str = url, probe: HttpProbe = probe) -> tuple[HttpAnswer, str | None]:
            answer = fetch(url, probe.method, ca_file=ca_file)
            return answer, _mismatch(probe, answer)

        answer, problem = retry_until(judge, tries, criteria.interval_s)
        name = f"http {probe.method} {probe.path}"
        if problem is None:
            results.append(ok(f"{url} answered {answer.status}", [url]).named(name))
        else:
            results.append(
                fail(
                    f"{url}: {problem} after {tries} attempt(s)",
                    "read the new tasks' logs and stopped reasons; the app must answer this path on "
                    f"port {phase.container.port} with the expected body",
                    [url],
                ).named(name)
            )
    return results


def _ml_problem(phase: Phase, answer: HttpAnswer) -> str | None:
    criteria = phase.manifest.success
    body = answer.body if isinstance(answer.body, dict) else {}
    mode, degraded = body.get("mode"), bool(body.get("degraded"))
    if answer.status != 200:
        return f"/ml/status answered {answer.status or answer.error}"
    if mode not in (criteria.ml_mode or []):
        return f"ML mode is {mode!r}, the phase accepts {criteria.ml_mode}"
    if degraded and not criteria.allow_degraded:
        return f"ML is degraded ({'; '.join(body.get('reasons', []))}) and the phase does not allow it"
    return None


def ml_mode_criterion(
    phase: Phase, base_url: str, attempts: int | None = None, ca_file: str | None = None
) -> CheckResult:
    """/ml/status against the phase's expectations; retried, since models may still be settling."""
    criteria = phase.manifest.success
    url = base_url.rstrip("/") + "/ml/status"

    def judge() -> tuple[HttpAnswer, str | None]:
        answer = fetch(url, ca_file=ca_file)
        return answer, _ml_problem(phase, answer)

    answer, problem = retry_until(judge, attempts or criteria.attempts, criteria.interval_s)
    if problem is not None:
        return fail(problem, "check /ml/status reasons: model bucket, cache and ML dependencies", [url]).named(
            "ml mode"
        )
    degraded = isinstance(answer.body, dict) and answer.body.get("degraded")
    return ok(f"ML mode {answer.body.get('mode')!r}" + (" (degraded, allowed)" if degraded else ""), [url]).named(
        "ml mode"
    )


def task_ips(task: dict[str, Any]) -> list[str]:
    ips = []
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address":
                ips.append(detail["value"])
    return ips


def target_health_criterion(
    descriptions: list[dict[str, Any]], target_group_arn: str, tasks: list[dict[str, Any]], wanted: int
) -> CheckResult:
    """The new tasks must be healthy targets: by task IP, which is how awsvpc tasks register."""
    health = {d["Target"]["Id"]: d["TargetHealth"] for d in descriptions}
    healthy, problems = 0, []
    for task in tasks:
        for ip in task_ips(task):
            state = health.get(ip, {"State": "unregistered"})
            if state.get("State") == "healthy":
                healthy += 1
            else:
                problems.append(f"{ip} {state.get('State')} {state.get('Reason', '')}".strip())
    resources = [target_group_arn] + [t["taskArn"] for t in tasks]
    if healthy >= wanted:
        return ok(f"{healthy} of the new tasks healthy in the target group (wanted {wanted})", resources).named(
            "healthy targets"
        )
    return fail(
        f"{healthy} healthy new targets, wanted {wanted}: {'; '.join(problems) or 'none registered'}",
        "the target group's health check must reach the container port and path; check security groups "
        "and the app's port",
        resources,
    ).named("healthy targets")
