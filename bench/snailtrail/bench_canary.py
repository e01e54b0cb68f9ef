"""A native ECS canary of a broken revision under live traffic, in the running sandbox (issues 6 and 20).

The broken revision is phase-1's image with SHINE_DRILL_FAIL_REQUESTS=1: healthy to the load
balancer and to phase-1's success criteria (/health, probed through the test listener), 500 to every
user request. (A later phase also probes /ready and /metrics before any traffic, and so stops this
revision at its test step, where no user sees it: that is the pre-traffic gate, not this figure.)
phase-1 is deployed first (rolling); the restore phase is deployed at the end. The canary is ECS's
CANARY strategy on the one service (the new revision in whichever target group is not serving). Load
runs through the public front door the whole time; each answer carries the target group that served
it (the front door's X-Sandbox-Target-Group header), so the figures come from the users' side:

- failed gate -> 100 % of production on the old revision: from the trail's gate.failed event (the
  gate's decision) to the last answer the new revision gave, and to ECS's ROLLBACK_SUCCESSFUL as
  snailtrail saw it (traffic.restored's duration, from the decision);
- the share of requests that failed while the canary took traffic (first answer from the new revision
  to the decision), over the whole planned canary bake, and after the rollback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

TARGET_GROUP_HEADER = "X-Sandbox-Target-Group"
WEIGHT, BAKE_MINUTES, CLIENTS = 10, 30, 4
BAKE_S = BAKE_MINUTES * 1.0  # the sandbox's minute is one second (docs/sandbox.md)


def _snailtrail(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(repo / ".venv" / "bin" / "snailtrail"), *args, "--json"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"SNAILTRAIL_ACTOR": "bench"},
    )


class Load:
    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[float, int, str]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)]

    def _client(self) -> None:
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(self.url + "/ready", timeout=5) as answer:
                    record = (time.time(), answer.status, answer.headers.get(TARGET_GROUP_HEADER, ""))
            except urllib.error.HTTPError as error:
                record = (time.time(), error.code, error.headers.get(TARGET_GROUP_HEADER, ""))
            except OSError:
                record = (time.time(), 0, "")
            self.answers.append(record)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


PHASE = "phase-1"


def _deploy_rolling(repo: Path, phase: str) -> None:
    done = _snailtrail(repo, "deploy", phase, "--skip-smoke", "--strategy", "rolling")
    if done.returncode != 0:
        raise RuntimeError(f"deploy {phase} failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")


def one_run(repo: Path, phase: str) -> dict[str, Any]:
    status = json.loads(_snailtrail(repo, "sandbox", "status").stdout)
    manifest = next((repo / "phases").glob(f"{phase}-*.yaml"))
    original = manifest.read_text()
    document = yaml.safe_load(original)
    document["container"]["environment"]["SHINE_DRILL_FAIL_REQUESTS"] = "1"
    document["strategy"] = {
        "kind": "canary",
        "canary": {"percent": WEIGHT, "bake_minutes": BAKE_MINUTES},
        "bake_minutes": 5,
        "gates": {"min_requests": 10},
    }
    load = Load(status["front_door_url"])
    manifest.write_text(yaml.safe_dump(document, sort_keys=False))
    try:
        for thread in load.threads:
            thread.start()
        time.sleep(2)  # the old revision's baseline
        old_group = next(a[2] for a in load.answers if a[2])
        new_group = ({"shine-tg", "shine-tg-alt"} - {old_group}).pop()
        # Built (from the cache): the manifest edited above makes the worktree dirty, and so the image tag.
        deploy = _snailtrail(repo, "deploy", phase, "--skip-smoke")
        on_canary = [a for a in load.answers if a[2] == new_group]
        # Keep the load on for the whole planned step, to measure the share over it.
        if on_canary:
            while time.time() < on_canary[0][0] + BAKE_S:
                time.sleep(0.2)
    finally:
        load.stop.set()
        for thread in load.threads:
            thread.join()
        manifest.write_text(original)
    result = json.loads(deploy.stdout)
    events = json.loads(_snailtrail(repo, "trail").stdout)["events"]
    failed_gate = next(e for e in reversed(events) if e["kind"] == "gate.failed")
    restored = next(e for e in reversed(events) if e["kind"] == "traffic.restored")
    decided = _epoch(failed_gate["at"])
    answers = sorted(load.answers)
    on_canary = [a for a in answers if a[2] == new_group]
    first, last = on_canary[0][0], on_canary[-1][0]

    def share(start: float, end: float) -> dict[str, Any]:
        window = [a for a in answers if start <= a[0] <= end]
        failed = sum(1 for a in window if a[1] != 200)
        return {"requests": len(window), "failed": failed, "share": round(failed / len(window), 4) if window else None}

    return {
        "exit_code": deploy.returncode,
        "message": result.get("message"),
        "gate": failed_gate.get("data", {}).get("gate"),
        # ECS's rollback as snailtrail followed it: the request, then ROLLBACK_SUCCESSFUL.
        "decision_to_listener_updated_s": round(_epoch(restored["at"]) - decided, 3),
        "decision_to_last_canary_answer_s": round(last - decided, 3),
        "first_canary_answer_to_decision_s": round(decided - first, 3),
        "canary_answers": len(on_canary),
        "failed_while_canary_took_traffic": share(first, decided),
        "failed_over_planned_step": share(first, first + BAKE_S),
        "failed_after_abort": share(last + 0.001, answers[-1][0]),
        "requests_per_s": round(len(answers) / (answers[-1][0] - answers[0][0]), 1),
    }


def canary(repo: Path, runs: int, restore_phase: str) -> dict[str, Any]:
    _deploy_rolling(repo, PHASE)
    try:
        runs_done = [one_run(repo, PHASE) for _ in range(runs)]
    finally:
        _deploy_rolling(repo, restore_phase)
    return {"phase": PHASE, "weight": WEIGHT, "bake_s": BAKE_S, "clients": CLIENTS, "runs": runs_done, "native": True}


if __name__ == "__main__":
    print(json.dumps(canary(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]), indent=2))
