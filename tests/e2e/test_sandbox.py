"""End to end with real containers: the sandbox daemon, real images, the front door.

Skipped, with the reason, when no Docker engine or no base image is available (scripts/test.sh
provides both); under CI=true those skips fail (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest
import yaml

from tests.conftest import BASE_IMAGE
from tests.e2e.conftest import Project, trust

pytestmark = pytest.mark.docker


def test_phase_1_then_phase_2_and_the_front_door_serves_the_new_version(project: Project) -> None:
    code, first = project.json("deploy", "phase-1")
    assert code == 0, first
    assert project.served()["phase"] == "simple"
    code, second = project.json("deploy", "phase-2")
    assert code == 0, second
    assert [s["name"] for s in second["steps"]] == [
        "build",
        "smoke",
        "push",
        "register",
        "update",
        "wait",
        "verify",
        "mark",
    ]
    assert "@sha256:" in next(s["detail"] for s in second["steps"] if s["name"] == "push")
    assert project.served()["phase"] == "hybrid"
    assert project.served("/ml/status")["mode"] in ("basic", "enhanced")


@pytest.mark.parametrize("phase", ["phase-3", "phase-4"])
def test_phases_3_and_4_run_the_enhanced_analyzer_with_models_from_the_sandbox_s3(project: Project, phase: str) -> None:
    project.ensure(phase)
    ml = project.served("/ml/status")
    assert ml["phase"] == {"phase-3": "enhanced", "phase-4": "full"}[phase]
    assert ml["mode"] == "enhanced", ml["reasons"]
    # The init container fetched the models from S3 into the task's volume; the app read them from there.
    models = ml["components"]["models"]
    assert models and {(model["source"], model["origin"]) for model in models} == {("cache", "s3")}, models


def test_phase_4_runs_its_init_container_app_and_metrics_sidecar_as_declared(project: Project) -> None:
    import boto3

    status = project.ensure("phase-4")
    _, sandbox = project.json("sandbox", "status")
    # The sandbox's API answers only requests signed with its own key, kept in its state file.
    from snailtrail.config.settings import load_settings
    from snailtrail.sandbox import control

    key = control.current(load_settings(str(project.root / "snailtrail.yaml"))).access_key
    assert key is not None
    region = {
        "region_name": "us-east-1",
        "aws_access_key_id": key.access_key_id,
        "aws_secret_access_key": key.secret_access_key,
    }
    ecs = boto3.client("ecs", endpoint_url=sandbox["aws_endpoint_url"], **region)
    definition = ecs.describe_task_definition(taskDefinition=status["task_definition"])["taskDefinition"]
    assert [c["name"] for c in definition["containerDefinitions"]] == ["app", "models", "metrics"]
    arns = ecs.list_tasks(cluster="shine", serviceName="shine", desiredStatus="RUNNING")["taskArns"]
    tasks = [t for t in ecs.describe_tasks(cluster="shine", tasks=arns)["tasks"] if t["lastStatus"] == "RUNNING"]
    assert len(tasks) == 2
    for task in tasks:
        containers = {c["name"]: c for c in task["containers"]}
        assert (containers["models"]["lastStatus"], containers["models"]["exitCode"]) == ("STOPPED", 0)
        assert containers["app"]["lastStatus"] == containers["metrics"]["lastStatus"] == "RUNNING"
        assert containers["app"]["healthStatus"] == "HEALTHY"  # what the metrics sidecar waited for
    # Each container logs to its own stream; the sidecar reached the app's /metrics over the task's localhost.
    logs = boto3.client("logs", endpoint_url=sandbox["aws_endpoint_url"], **region)
    task_id = tasks[0]["taskArn"].rsplit("/", 1)[1]

    def lines(container: str) -> list[str]:
        stream = f"shine/{container}/{task_id}"
        return [e["message"] for e in logs.get_log_events(logGroupName="/ecs/shine", logStreamName=stream)["events"]]

    assert '"source": "s3"' in "\n".join(lines("models"))  # the fetch report: every model from S3
    emf = [json.loads(line) for line in wait_for_lines(lambda: lines("metrics"))]
    assert emf and "Requests" in emf[0] and emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "shine"
    code, verify = project.json("verify", "--only", "containers")
    assert code == 0 and verify["checks"][0]["status"] == "pass", verify


def wait_for_lines(read: Callable[[], list[str]], timeout_s: float = 60) -> list[str]:
    """The lines once there are some: the sidecar scrapes every 10 s (a bounded wait, no timing asserted)."""
    import time

    for _ in range(int(timeout_s)):
        found = [line for line in read() if line.startswith("{")]
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"no lines within {timeout_s} s")


def test_phase_4_migrates_the_schema_before_the_service_changes(project: Project) -> None:
    """Its before_deploy task (shine.migrations) runs once in a task of the new revision, then the update."""
    project.ensure("phase-3")
    code, result = project.json("deploy", "phase-4", "--skip-smoke")
    assert code == 0, result
    steps = [s["name"] for s in result["steps"]]
    assert steps.index("register") < steps.index("before-migrate") < steps.index("update"), steps
    _, trail = project.json("trail")
    run = [e for e in trail["events"] if e.get("run_id") == trail["events"][-1]["run_id"]]
    kinds = [e["kind"] for e in run]
    finished = next(e for e in run if e["kind"] == "run.finished" and e["data"]["name"] == "migrate")
    assert finished["ok"] and finished["data"]["exit_code"] == 0, finished
    assert finished["task_definition"] == result["task_definition"]  # the new revision, before it serves
    # Its own output, from its log stream: the schema it left (applied now, or already there).
    assert any("schema" in line and "version 2" in line for line in finished["data"]["output"]), finished
    assert kinds.index("run.finished") < next(
        i for i, e in enumerate(run) if e["kind"] == "step" and e["data"]["step"] == "update"
    )
    changed = next(e for e in run if e["kind"] == "schema.changed")
    assert changed["data"]["schema"] == 2
    _, status = project.json("status")
    assert status["task_definition"] == result["task_definition"] and status["phase"] == "phase-4"
    assert project.served()["phase"] == "full"


def test_a_failing_migration_stops_the_deploy_with_exit_1_and_the_service_on_its_previous_revision(
    project: Project,
) -> None:
    before = project.ensure("phase-3")
    manifest = project.root / "phases" / "phase-4-full.yaml"
    original = manifest.read_text()
    document = yaml.safe_load(original)
    # A schema this code does not know: shine.migrations refuses it (exit 2) and writes nothing.
    document["before_deploy"][0]["command"][-1] = "99"
    manifest.write_text(yaml.safe_dump(document))
    try:
        code, result = project.json("deploy", "phase-4", "--skip-smoke")
    finally:
        manifest.write_text(original)
    assert code == 1, result
    assert "before_deploy task migrate failed, so the service was not changed" in result["message"]
    assert "exited 2" in result["message"] and "--to 99" in result["message"]  # its own last lines, shown
    assert "update" not in [s["name"] for s in result["steps"]]
    _, status = project.json("status")
    assert status["task_definition"] == before["task_definition"] and status["phase"] == "phase-3"
    assert project.served()["phase"] == "enhanced"


def test_run_exits_with_the_containers_exit_code_and_streams_its_output(project: Project) -> None:
    """A one-off task of phase-4's revision: RunTask starts a real container, awslogs ships its output."""
    project.ensure("phase-4")
    script = "import sys; print('checking the schema'); sys.exit(3)"
    result = project.run("run", "phase-4", "--", "python3", "-c", script, timeout=300)
    assert result.returncode == 3, result.stderr
    assert "checking the schema" in result.stdout
    done = project.run("run", "--json", "phase-4", "--", "python3", "-c", "print('ok')", timeout=300)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["exit_code"], document["output"], document["source"]) == (0, ["ok"], "live")
    assert document["logs"]["stream"] == f"shine/app/{document['task'].rsplit('/', 1)[-1]}"


def test_broken_image_is_caught_by_smoke_before_the_service_changes(project: Project) -> None:
    before = project.ensure("phase-2")
    code, result = project.json("deploy", "phase-2", "--build-arg", "SHINE_DRILL_WRONG_PORT=8080")
    assert code == 1
    assert not result["rolled_back"]
    smoke = next(s for s in result["steps"] if s["name"] == "smoke")
    assert not smoke["ok"] and "listens on 8080" in smoke["detail"] and "container port 8000" in smoke["detail"]
    assert "register" not in [s["name"] for s in result["steps"]]
    _, after = project.json("status")
    assert after["task_definition"] == before["task_definition"]


def test_broken_image_without_smoke_is_rolled_back_and_the_previous_phase_served(project: Project) -> None:
    before = project.ensure("phase-2")
    code, result = project.json("deploy", "phase-3", "--build-arg", "SHINE_DRILL_WRONG_PORT=8080", "--skip-smoke")
    assert code == 1, result
    assert result["rolled_back"] and result["rolled_back_to"] == before["task_definition"]
    assert "failed ELB health checks" in result["message"]
    assert project.served()["phase"] == "hybrid"
    _, trail = project.json("trail")
    kinds = [e["kind"] for e in trail["events"]]
    assert "rollback.finished" in kinds and kinds[-1] == "deploy.finished"


def test_sigterm_during_the_rollout_rolls_back_and_exits_130(project: Project) -> None:
    import signal
    import time

    before = project.ensure("phase-2")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snailtrail",
            "--config",
            str(project.root / "snailtrail.yaml"),
            "deploy",
            "phase-3",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"SNAILTRAIL_BASE_IMAGE": BASE_IMAGE},
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        _, status = project.json("status")
        if status["task_definition"] != before["task_definition"]:
            break  # the service now wants the new, unverified revision
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert json.loads(out)["rolled_back_to"] == before["task_definition"]
    _, after = project.json("status")
    assert after["task_definition"] == before["task_definition"] and after["verified_at"]
    # Written as interrupted, with the step it stopped in, and never as failed.
    _, trail = project.json("trail")
    run = [e for e in trail["events"] if e.get("run_id") == trail["events"][-1].get("run_id")]
    interrupted = [e for e in run if e["kind"] == "deploy.interrupted"]
    assert interrupted and "(in the wait step)" in interrupted[0]["detail"]
    assert "deploy.failed" not in [e["kind"] for e in run]


def test_a_broken_native_canary_fails_a_gate_and_ecs_rolls_it_back_under_live_users(project: Project) -> None:
    """A revision healthy to the load balancer and failing its users, at 10 % of a native ECS canary of the one
    service, under live traffic: the traffic gate fails, ECS rolls back, only the requests it took failed."""
    import threading
    import urllib.error

    from snailtrail.sandbox.front_door import TARGET_GROUP_HEADER

    project.ensure("phase-1")
    manifest = project.root / "phases" / "phase-1-simple.yaml"
    original = manifest.read_text()
    document = yaml.safe_load(original)
    document["container"]["environment"]["SHINE_DRILL_FAIL_REQUESTS"] = "1"
    document["strategy"] = {
        "kind": "canary",
        "canary": {"percent": 10, "bake_minutes": 60},  # sandbox minutes: the gate decides well before
        "bake_minutes": 5,
        "gates": {"min_requests": 10},
    }
    manifest.write_text(yaml.safe_dump(document))
    _, sandbox = project.json("sandbox", "status")
    answers: list[tuple[int, str]] = []  # (status, target group), in the order they came
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                with urllib.request.urlopen(
                    sandbox["front_door_url"] + "/ready", timeout=5, context=trust(sandbox)
                ) as answer:
                    answers.append((answer.status, answer.headers.get(TARGET_GROUP_HEADER, "")))
            except urllib.error.HTTPError as error:
                answers.append((error.code, error.headers.get(TARGET_GROUP_HEADER, "")))
            except OSError:
                answers.append((0, ""))

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    try:
        code, result = project.json("deploy", "phase-1")
    finally:
        stop.set()
        thread.join()
        manifest.write_text(original)
    assert code == 1, result
    assert "rolled back (traffic error rate)" in result["message"], result
    # One service deployment, ECS's CANARY; the gate failed, ECS was asked to roll back, its rollback
    # finished, and only then did the deploy end.
    _, trail = project.json("trail")
    kinds = [e["kind"] for e in trail["events"]]
    started = [e for e in trail["events"] if e["kind"] == "deployment.started"][-1]
    assert "CANARY" in started["detail"]
    assert kinds[-4:] == ["rollout.aborted", "deployment.rollback-requested", "traffic.restored", "deploy.finished"]
    # The broken revision failed every request it took; the old one failed none.
    old = answers[0][1]
    canary = ({"shine-tg", "shine-tg-alt"} - {old}).pop()
    on_canary = [status for status, group in answers if group == canary]
    assert on_canary and set(on_canary) == {500}
    assert {status for status, group in answers if group == old} == {200}
    # ECS's rollback put all production traffic back on the old revision.
    for _ in range(20):
        with urllib.request.urlopen(sandbox["front_door_url"] + "/ready", timeout=5, context=trust(sandbox)) as answer:
            assert answer.status == 200 and answer.headers.get(TARGET_GROUP_HEADER) == old
    _, status = project.json("status")
    assert status["service"] == "shine" and status["verified_at"] and status["service_deployment"] is None


@pytest.mark.parametrize(
    "drill, check",
    [
        ("sg-rule", "security groups"),
        ("route-table", "network path"),
        ("domain", "dns ownership"),
        ("service", "service active"),
        ("port", "port alignment"),
    ],
)
def test_each_drill_fails_verify_with_its_check_and_heal_passes(project: Project, drill: str, check: str) -> None:
    project.ensure("phase-2")
    broken = project.run("sandbox", "break", drill)
    assert broken.returncode == 0, broken.stderr
    code, report = project.json("verify")
    failing = {c["name"] for c in report["checks"] if c["status"] == "fail"}
    assert code == 1 and check in failing, report
    healed = project.run("sandbox", "heal")
    assert healed.returncode == 0, healed.stderr
    code, report = project.json("verify", "--only", check)
    assert code == 0, report


def test_sandbox_status_and_down_remove_exactly_its_containers(project: Project) -> None:
    import docker

    _, status = project.json("sandbox", "status")
    for key in ("running", "aws_endpoint_url", "front_door_url", "dns_server", "registry", "docker", "pids"):
        assert key in status
    assert status["running"] and status["docker"] and status["pids"]["daemon"] > 0
    assert status["ready"], status["readiness"]
    assert {part for part, entry in status["readiness"].items() if entry["ok"]} == {
        "engine",
        "registry",
        "seed",
        "task_aws_api",
    }
    state = json.loads((project.root / ".snailtrail" / "sandbox-sandbox.json").read_text())
    label = f"snailtrail.sandbox={state['sandbox_id']}"
    client = docker.from_env()
    assert client.containers.list(filters={"label": label})
    down = project.run("sandbox", "down", timeout=120)
    assert down.returncode == 0
    assert not client.containers.list(all=True, filters={"label": label})
    _, status = project.json("sandbox", "status")
    assert status["running"] is False


def test_the_sandbox_serves_its_stacks_listeners_over_https_and_verify_passes_through_them(project: Project) -> None:
    """443 answers with TLS its certificate verifies, 80 redirects there, the test listener is HTTPS too; a
    client that does not trust the sandbox's certificate is refused; verify judges the phase over HTTPS."""
    import http.client
    import urllib.error
    import urllib.parse
    import urllib.request

    project.ensure("phase-1")
    _, sandbox = project.json("sandbox", "status")
    assert sandbox["stack"] == "shine-sandbox"
    front_door, test_url = sandbox["front_door_url"], sandbox["test_url"]
    assert front_door.startswith("https://") and test_url.startswith("https://")
    for url in (front_door, test_url):
        with urllib.request.urlopen(url + "/health", timeout=10, context=trust(sandbox)) as answer:
            assert answer.status == 200
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(front_door + "/health", timeout=10)  # the system's trust store alone
    redirect = urllib.parse.urlsplit(sandbox["listener_urls"]["80"])
    connection = http.client.HTTPConnection(redirect.hostname, redirect.port, timeout=10)
    connection.request("GET", "/health")
    answer = connection.getresponse()
    assert (answer.status, answer.getheader("Location")) == (301, front_door + "/health")
    code, report = project.json("verify", "--only", "success criteria")
    assert code == 0, report
    assert any(front_door in resource for c in report["checks"] for resource in c.get("resources", [])), report
