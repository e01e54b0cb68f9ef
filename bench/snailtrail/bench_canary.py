"""A canary of a broken revision under live traffic, in the running sandbox (issue 6's figures).

The broken revision is phase-1's image with SHINE_DRILL_FAIL_REQUESTS=1: healthy to the load
balancer and to phase-1's success criteria (/health, probed through the test listener), 500 to every
user request. (A later phase also probes /ready and /metrics before any traffic, and so stops this
revision at its test step, where no user sees it: that is the pre-traffic gate, not this figure.)
phase-1 is deployed first (rolling) as the live colour; the restore phase is deployed at the end. Load runs
through the public front door the whole time; each answer carries the target group that served it
(the front door's X-Sandbox-Target-Group header), so the figures come from the users' side:

- decision -> 100 % on the old colour: from the trail's rollout.aborted event (the gate's decision)
  to the last answer the new colour gave, and the listener update alone (traffic.restored);
- the share of requests that failed while the canary took traffic (first answer from the new colour
  to the decision), over the whole planned 10 % step (first answer + bake_s), and after the abort.
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
WEIGHT, BAKE_S, CLIENTS = 10, 30, 4


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
    live = json.loads(_snailtrail(repo, "status").stdout)
    # The canary is whichever colour is idle now.
    new_group = "shine-tg" if live.get("colour") == "green" else "shine-tg-alt"
    manifest = next((repo / "phases").glob(f"{phase}-*.yaml"))
    original = manifest.read_text()
    document = yaml.safe_load(original)
    document["container"]["environment"]["SHINE_DRILL_FAIL_REQUESTS"] = "1"
    document["strategy"] = {
        "kind": "canary",
        "steps": [{"weight": WEIGHT, "bake_s": BAKE_S}],
        "final_bake_s": 5,
        "gates": {"min_requests": 10},
    }
    load = Load(status["front_door_url"])
    manifest.write_text(yaml.safe_dump(document, sort_keys=False))
    try:
        for thread in load.threads:
            thread.start()
        time.sleep(2)  # the old colour's baseline
        deploy = _snailtrail(repo, "deploy", phase, "--no-build", "--skip-smoke")
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
    aborted = next(e for e in reversed(events) if e["kind"] == "rollout.aborted")
    restored = next(e for e in reversed(events) if e["kind"] == "traffic.restored")
    decided = _epoch(aborted["at"])
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
        "gate": aborted.get("data", {}).get("gate"),
        "decision_to_listener_updated_s": restored.get("duration_s"),
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
    return {"phase": PHASE, "weight": WEIGHT, "bake_s": BAKE_S, "clients": CLIENTS, "runs": runs_done}


if __name__ == "__main__":
    print(json.dumps(canary(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]), indent=2))
