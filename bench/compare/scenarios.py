"""snailtrail beside fabfuel's ecs-deploy (`ecs`), on the same sandbox, in the same run.

Used by bench/run.py. ecs-deploy lives in its own venv (.venv-bench, never the product's):

    python3 -m venv .venv-bench && .venv-bench/bin/pip install ecs-deploy

Every AWS HTTP request of either tool is logged by bench/compare/count_calls.py (a botocore
`before-send` hook, retries included), so both are counted the same way.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SNAILTRAIL_PY = REPO / ".venv" / "bin" / "python"
SNAILTRAIL = REPO / ".venv" / "bin" / "snailtrail"
BENCH_PY = REPO / ".venv-bench" / "bin" / "python"
ECS = REPO / ".venv-bench" / "bin" / "ecs"
COUNTER = HERE / "count_calls.py"
CLUSTER = SERVICE = "shine"
CONTAINER = "app"


def stats(values: list[float], digits: int = 3) -> dict[str, Any]:
    return {
        "n": len(values),
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def bench_env() -> dict[str, str]:
    """Bytecode may be cached (outside the tree), as in any normal install, for both tools alike."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "snailtrail-bench-pycache")
    return env


# The sandbox's AWS API accepts its own key only (sandbox/moto_server.py): read from its state file.
SANDBOX_KEYS: dict[str, tuple[str, str]] = {}


def aws_env(endpoint: str) -> dict[str, str]:
    env = bench_env()
    key_id, secret = SANDBOX_KEYS[endpoint]
    env.update(
        AWS_ACCESS_KEY_ID=key_id,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
    )
    return env


def sandbox_endpoint(project: Path) -> str:
    done = subprocess.run(
        [str(SNAILTRAIL), "sandbox", "status", "--json"], cwd=project, capture_output=True, text=True, timeout=60
    )
    document = json.loads(done.stdout)
    if not document.get("running"):
        raise SystemExit("the sandbox is not running: `snailtrail sandbox up` first")
    state = json.loads(Path(document["state_file"]).read_text())
    SANDBOX_KEYS[document["aws_endpoint_url"]] = (state["aws_access_key_id"], state["aws_secret_access_key"])
    return document["aws_endpoint_url"]


# --- 1. cold start -------------------------------------------------------------------------------


def cold_start(project: Path, runs: int) -> dict[str, Any]:
    """`snailtrail --help` and `ecs --help`, one of each per pair, alternating which goes first."""
    env = bench_env()
    commands = {"snailtrail": [str(SNAILTRAIL), "--help"], "ecs": [str(ECS), "--help"]}
    for argv in commands.values():  # warm-up: page cache and .pyc
        subprocess.run(argv, cwd=project, env=env, capture_output=True, check=True, timeout=60)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    ratios: list[float] = []
    for i in range(runs):
        order = list(commands) if i % 2 == 0 else list(reversed(commands))
        pair = {}
        for name in order:
            t0 = time.perf_counter()
            subprocess.run(commands[name], cwd=project, env=env, capture_output=True, check=True, timeout=60)
            pair[name] = time.perf_counter() - t0
            walls[name].append(pair[name])
        ratios.append(pair["snailtrail"] / pair["ecs"])
    floors = {
        "python -c pass": [str(SNAILTRAIL_PY), "-c", "pass"],
        "snailtrail venv: import snailtrail.cli": [str(SNAILTRAIL_PY), "-c", "import snailtrail.cli"],
        "ecs-deploy venv: import boto3": [str(BENCH_PY), "-c", "import boto3"],
        "ecs-deploy venv: import ecs_deploy.cli": [str(BENCH_PY), "-c", "import ecs_deploy.cli"],
    }
    floor_walls: dict[str, list[float]] = {name: [] for name in floors}
    for _ in range(runs):
        for name, argv in floors.items():
            t0 = time.perf_counter()
            subprocess.run(argv, env=env, check=True, timeout=60, capture_output=True)
            floor_walls[name].append(time.perf_counter() - t0)
    floor = floor_walls["python -c pass"]
    return {
        "floors_s": {name: stats(walls) for name, walls in floor_walls.items()},
        "runs": runs,
        "snailtrail_s": stats(walls["snailtrail"]),
        "ecs_s": stats(walls["ecs"]),
        "ratio_pairwise": stats(ratios, 2),
        "python_c_pass_s": stats(floor),
        "target": "snailtrail <= 0.5x ecs",
        "target_met": statistics.median(ratios) <= 0.5,
    }


# --- 2. deploy of a new image, with wait ---------------------------------------------------------


def fresh_image(base: str, registry: str, label: str) -> str:
    """A new image (new digest) from base: one LABEL, no layer changes; pushed to the registry."""
    tag = f"{registry}/shine:bench-{label}"
    subprocess.run(
        ["docker", "build", "-q", "-t", tag, "--label", f"snailtrail.bench={label}", "-"],
        input=f"FROM {base}\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=300,
    )
    subprocess.run(["docker", "push", "-q", tag], check=True, capture_output=True, timeout=300)
    return tag


def lock_holder(project: Path) -> Any:
    done = subprocess.run(
        [str(SNAILTRAIL), "status", "--json"], cwd=project, capture_output=True, text=True, timeout=120
    )
    try:
        return json.loads(done.stdout).get("lock")
    except json.JSONDecodeError:
        return "unknown"


def wait_for_lock(project: Path, timeout_s: float = 900) -> float:
    t0 = time.monotonic()
    while lock_holder(project) and time.monotonic() - t0 < timeout_s:
        time.sleep(10)
    return time.monotonic() - t0


def read_calls(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def counted(
    python: Path, distribution: str, script: str, args: list[str], env: dict[str, str], cwd: Path, timeout: float
) -> tuple[subprocess.CompletedProcess, float, list[dict[str, Any]], float]:
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as handle:
        log = Path(handle.name)
    started = time.time()
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(python), str(COUNTER), str(log), distribution, script, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    wall = time.perf_counter() - t0
    calls = read_calls(log)
    log.unlink(missing_ok=True)
    return done, wall, calls, started


def trail_run(project: Path, started: float) -> list[dict[str, Any]]:
    """The trail events of the snailtrail run that started after `started` (unix time)."""
    done = subprocess.run(
        [str(SNAILTRAIL), "trail", "--format", "json"], cwd=project, capture_output=True, text=True, timeout=120
    )
    events = json.loads(done.stdout)["events"]
    for event in events:
        event["t"] = datetime.fromisoformat(event["at"]).timestamp()
    runs = [e for e in events if e["kind"] in ("deploy.started", "rollback.started") and e["t"] >= started - 1]
    if not runs:
        return []
    run_id = runs[0]["run_id"]
    return [e for e in events if e.get("run_id") == run_id]


def attribute(calls: list[dict[str, Any]], events: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Each call to the step the trail records as finishing next (steps are logged when they end)."""
    marks = sorted(
        (e["t"], e.get("data", {}).get("step") if e["kind"] == "step" else e["kind"])
        for e in events
        if e["kind"] in ("step", "deploy.started", "deploy.finished", "rollback.started", "rollback.finished")
    )
    purposes: dict[str, dict[str, int]] = {}
    for call in calls:
        name = f"{call['service']}.{call['operation']}"
        if marks and call["t"] < marks[0][0]:
            purpose = "before the run starts (config, state, lock)"
        else:
            purpose = next((label for t, label in marks if t >= call["t"]), None)
            purpose = purpose or "after the last trail event (trail write, lock release)"
            if purpose == "deploy.started":
                purpose = "before the run starts (config, state, lock)"
            elif purpose in ("deploy.finished", "rollback.finished"):
                purpose = "closing the run (trail, verified tag, lock)"
        purposes.setdefault(str(purpose), {})
        purposes[str(purpose)][name] = purposes[str(purpose)].get(name, 0) + 1
    return purposes


def by_operation(calls: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        name = f"{call['service']}.{call['operation']}"
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


SAME_WORK = "same work as ecs-deploy"
# The work both tools do in the deploy scenario: read the service and its revision, find revisions
# (snailtrail: the identical one and the rollback target), register, update, wait until stable.
SAME_WORK_OPERATIONS = {
    "ecs.DescribeServices",
    "ecs.DescribeTaskDefinition",
    "ecs.ListTaskDefinitions",
    "resource-groups-tagging-api.GetResources",
    "ecs.RegisterTaskDefinition",
    "ecs.UpdateService",
    "ecs.ListTasks",
    "ecs.DescribeTasks",
}
# What snailtrail does that ecs-deploy does not, by the service or operation that does it.
EXTRA_WORK = {
    "dynamodb": "trail events (one write each) and the deploy lock",
    "elastic-load-balancing-v2": "verify: target health",
    "ecs.TagResource": "mark: the verified tag",
}


def by_work(operations: dict[str, int]) -> dict[str, dict[str, int]]:
    """Calls grouped as the same work as ecs-deploy, or the extra work each is for; an operation that
    is neither is listed as unclassified rather than hidden in either."""
    groups: dict[str, dict[str, int]] = {}
    for name, count in operations.items():
        if name in SAME_WORK_OPERATIONS:
            work = SAME_WORK
        else:
            work = EXTRA_WORK.get(name) or EXTRA_WORK.get(name.split(".", 1)[0]) or "unclassified"
        groups.setdefault(work, {})[name] = count
    return groups


def same_work_calls(run: dict[str, Any]) -> int:
    return sum(by_work(run["by_operation"]).get(SAME_WORK, {}).values())


def snailtrail_deploy(
    project: Path, phase: str, image: str, endpoint: str, extra: list[str] | None = None, timeout: float = 900
) -> dict[str, Any]:
    args = ["deploy", phase, "--image", image, "--skip-smoke", "--json", *(extra or [])]
    env = aws_env(endpoint)
    for _attempt in range(30):
        wait_for_lock(project)
        done, wall, calls, started = counted(SNAILTRAIL_PY, "snailtrail", "snailtrail", args, env, project, timeout)
        if done.returncode != 4:
            break
        time.sleep(15)
    events = trail_run(project, started)
    return {
        "exit_code": done.returncode,
        "wall_s": round(wall, 2),
        "calls": len(calls),
        "by_operation": by_operation(calls),
        "by_purpose": attribute(calls, events),
        "raw_calls": calls,
        "events": events,
        "started": started,
        "stdout_tail": done.stdout[-600:] if done.returncode else "",
    }


def ecs_deploy(
    project: Path, image: str, endpoint: str, extra: list[str] | None = None, timeout: float = 900
) -> dict[str, Any]:
    # --no-deregister: the sandbox is shared and ecs-deploy's default would deregister the revision
    # it replaces (snailtrail's verified one). With the default it makes 1 more call.
    args = ["deploy", CLUSTER, SERVICE, "--image", CONTAINER, image, "--no-deregister", *(extra or [])]
    wait_for_lock(project)
    done, wall, calls, started = counted(BENCH_PY, "ecs-deploy", "ecs", args, aws_env(endpoint), project, timeout)
    return {
        "exit_code": done.returncode,
        "wall_s": round(wall, 2),
        "calls": len(calls),
        "by_operation": by_operation(calls),
        "raw_calls": calls,
        "started": started,
        "output_tail": (done.stdout + done.stderr)[-800:],
    }


ECS_PURPOSE = {
    "ecs.DescribeServices": "read the service (before the update, as the wait starts, then each 1 s poll)",
    "ecs.DescribeTaskDefinition": "read the current revision to copy",
    "ecs.RegisterTaskDefinition": "register the new revision",
    "ecs.UpdateService": "point the service at it",
    "ecs.ListTasks": "poll: tasks of the service (once the old deployment is gone)",
    "ecs.DescribeTasks": "poll: count RUNNING tasks of the new revision",
    "ecs.DeregisterTaskDefinition": "deregister the old revision",
}


def deploy_pairs(project: Path, pairs: int, phase: str, base: str, registry: str) -> dict[str, Any]:
    """Per pair: ecs-deploy then snailtrail, each deploying a new image of its own built from base.
    snailtrail goes second so the service ends on a verified revision."""
    endpoint = sandbox_endpoint(project)
    rows = []
    stamp = time.strftime("%H%M%S")
    for i in range(pairs):
        ecs_image = fresh_image(base, registry, f"{stamp}-{i}-ecs")
        st_image = fresh_image(base, registry, f"{stamp}-{i}-st")
        ecs_run = ecs_deploy(project, ecs_image, endpoint)
        st_run = snailtrail_deploy(project, phase, st_image, endpoint)
        rows.append({"ecs": ecs_run, "snailtrail": st_run})
    ok = [r for r in rows if r["ecs"]["exit_code"] == 0 and r["snailtrail"]["exit_code"] == 0]
    summary: dict[str, Any] = {"pairs": pairs, "pairs_ok": len(ok), "phase": phase, "base_image": base}
    if ok:
        summary.update(
            {
                "ecs_wall_s": stats([r["ecs"]["wall_s"] for r in ok], 2),
                "snailtrail_wall_s": stats([r["snailtrail"]["wall_s"] for r in ok], 2),
                "wall_ratio_pairwise": stats([r["snailtrail"]["wall_s"] / r["ecs"]["wall_s"] for r in ok], 2),
                "ecs_calls": stats([r["ecs"]["calls"] for r in ok], 1),
                "snailtrail_calls": stats([r["snailtrail"]["calls"] for r in ok], 1),
                "calls_ratio_pairwise": stats([r["snailtrail"]["calls"] / r["ecs"]["calls"] for r in ok], 2),
                "snailtrail_same_work_calls": stats([same_work_calls(r["snailtrail"]) for r in ok], 1),
                "same_work_ratio_pairwise": stats(
                    [same_work_calls(r["snailtrail"]) / r["ecs"]["calls"] for r in ok], 2
                ),
                "ecs_by_operation_first": ok[0]["ecs"]["by_operation"],
                "snailtrail_by_operation_first": ok[0]["snailtrail"]["by_operation"],
                "snailtrail_by_purpose_first": ok[0]["snailtrail"]["by_purpose"],
                "snailtrail_by_work_first": by_work(ok[0]["snailtrail"]["by_operation"]),
                "ecs_purposes": ECS_PURPOSE,
                "target": "for the same work, no more calls than ecs-deploy",
                "target_met": all(same_work_calls(r["snailtrail"]) <= r["ecs"]["calls"] for r in ok),
            }
        )
    for r in rows:  # keep the JSON readable: raw call logs summarised
        for side in ("ecs", "snailtrail"):
            r[side].pop("raw_calls", None)
            r[side].pop("events", None)
    summary["runs"] = rows
    return summary


# --- 3. time to notice a bad revision ------------------------------------------------------------


def stopped_tasks(endpoint: str, since: float) -> list[dict[str, Any]]:
    code = r"""
import boto3, json, sys
ecs = boto3.client("ecs")
arns = ecs.list_tasks(cluster="shine", desiredStatus="STOPPED")["taskArns"]
out = []
for i in range(0, len(arns), 100):
    for t in ecs.describe_tasks(cluster="shine", tasks=arns[i:i + 100])["tasks"]:
        out.append({"arn": t["taskArn"], "td": t["taskDefinitionArn"], "stoppedAt": t.get("stoppedAt").timestamp() if t.get("stoppedAt") else None,
                    "stoppingAt": t.get("stoppingAt").timestamp() if t.get("stoppingAt") else None,
                    "createdAt": t["createdAt"].timestamp() if t.get("createdAt") else None,
                    "reason": t.get("stoppedReason")})
print(json.dumps(out))
"""
    done = subprocess.run(
        [str(SNAILTRAIL_PY), "-c", code], env=aws_env(endpoint), capture_output=True, text=True, check=True, timeout=120
    )
    return sorted((t for t in json.loads(done.stdout) if (t["stoppedAt"] or 0) >= since), key=lambda t: t["stoppedAt"])


def notice(
    project: Path, phase: str, drill_image: str, registry: str, with_ecs: bool, restore_image: str
) -> dict[str, Any]:
    """Deploy a revision whose tasks fail health checks; seconds from the first stopped task of it
    to the rollback starting (snailtrail: the trail's rollback.started; ecs-deploy --rollback: its
    second UpdateService)."""
    endpoint = sandbox_endpoint(project)
    result: dict[str, Any] = {"drill_image": drill_image}
    stamp = time.strftime("%H%M%S")
    runs = [("snailtrail", f"{stamp}-drill-st")] + ([("ecs", f"{stamp}-drill-ecs")] if with_ecs else [])
    for tool, label in runs:
        image = fresh_image(drill_image, registry, label)
        if tool == "snailtrail":
            run = snailtrail_deploy(project, phase, image, endpoint)
            events = run["events"]
            rollback = next((e["t"] for e in events if e["kind"] == "rollback.started"), None)
            failed_step = next(
                (e["t"] for e in events if e["kind"] == "step" and e.get("data", {}).get("step") == "wait"), None
            )
            update = next(
                (e["t"] for e in events if e["kind"] == "step" and e.get("data", {}).get("step") == "update"), None
            )
        else:
            run = ecs_deploy(project, image, endpoint, extra=["--rollback", "--timeout", "300"])
            updates = [c["t"] for c in run["raw_calls"] if c["operation"] == "UpdateService"]
            update = updates[0] if updates else None
            rollback = updates[1] if len(updates) > 1 else None
            # ecs-deploy notices when it gives up: its process exits (it makes no call after that).
            failed_step = run["started"] + run["wall_s"]
        # The tasks of the drill image: stopped after this run's UpdateService.
        stopped = [t for t in stopped_tasks(endpoint, update or run["started"]) if t["td"]]
        first = stopped[0]["stoppedAt"] if stopped else None
        entry = {
            "exit_code": run["exit_code"],
            "wall_s": run["wall_s"],
            "calls": run["calls"],
            "update_to_first_stop_s": round(first - update, 2) if first and update else None,
            "first_stop_to_failure_noticed_s": round(failed_step - first, 2) if first and failed_step else None,
            "first_stop_to_rollback_s": round(rollback - first, 2) if first and rollback else None,
            "update_to_rollback_s": round(rollback - update, 2) if rollback and update else None,
            # ecs-deploy never rolled back here: count up to its exit instead.
            "stopped_tasks_before_rollback": len(
                [t for t in stopped if (rollback or failed_step) and t["stoppedAt"] <= (rollback or failed_step)]
            ),
            "first_stop_reason": stopped[0]["reason"] if stopped else None,
        }
        if tool == "ecs":
            entry["output_tail"] = run["output_tail"]
        result[tool] = entry
        if tool == "ecs":
            # ecs-deploy left the service on its rollback revision: put snailtrail's verified one back.
            result["restore"] = restore(project, phase, restore_image, endpoint)
    result["target"] = "snailtrail first_stop_to_rollback_s <= 10"
    s = result.get("snailtrail", {}).get("first_stop_to_rollback_s")
    result["target_met"] = s is not None and s <= 10
    return result


def restore(project: Path, phase: str, image: str, endpoint: str) -> dict[str, Any]:
    """Back to a verified revision with snailtrail (the known-good image reuses its revision)."""
    run = snailtrail_deploy(project, phase, image, endpoint)
    return {"command": f"snailtrail deploy {phase} --image {image} --skip-smoke", "exit_code": run["exit_code"]}
