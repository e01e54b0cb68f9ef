#!/usr/bin/env bash
# The README's first command: set everything up on this machine and run the sandbox demo.
#   ./scripts/demo.sh
# Installs what is missing (virtual environment; Docker engine via Debian's docker.io; a local
# Python base image; a local OCI registry), starts the sandbox, deploys phase-1 to phase-4, shows a
# broken build (the app ignores $PORT) caught by smoke and, deployed anyway, caught and rolled
# back, deploys phase-4 again as a native ECS canary under live users, then prints status and the trail,
# and checks the result: phase-4 verified and its analyzer enhanced through the front door, with the models
# of the sandbox's S3 fetched by its init container, every container of the live task definition
# running as declared, and phase-4's migration (before_deploy) run before each of its service updates,
# leaving the schema at 2 (else it exits 1, saying why).
# Safe to run again: everything is reused.
set -euo pipefail
SCRIPT_NAME=demo.sh
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
T0=$(now)

python=$(scripts/ensure-venv.sh)
snailtrail="$(dirname "$python")/snailtrail"
scripts/ensure-test-infra.sh >&2
export SNAILTRAIL_BASE_IMAGE=${SNAILTRAIL_BASE_IMAGE:-snailtrail/python:3.11-bookworm}
export_extra_ca "$ROOT"

banner() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

banner "sandbox up"
"$snailtrail" sandbox up
# The sandbox's listeners are the stack's (the repository's template): HTTPS on 443 with the sandbox's own
# certificate, which its clients trust and nothing else; 80 redirects to it.
sandbox_json=$("$snailtrail" sandbox status --json)
field() { "$python" -c 'import json, sys; d = json.loads(sys.argv[1]); print(d[sys.argv[2]] if len(sys.argv) < 4 else d[sys.argv[2]][sys.argv[3]])' "$sandbox_json" "$@"; }
front_door=$(field front_door_url)
ca_file=$(field ca_file)
redirect_url=$(field listener_urls 80)
case "$front_door" in https://*) ;; *) die "the front door is not HTTPS: $front_door" ;; esac
location=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "$redirect_url/health")
[ "$location" = "301 $front_door/health" ] || die "port 80 should redirect to $front_door/health, answered: $location"
answered=$(curl -sS --cacert "$ca_file" -o /dev/null -w '%{http_code}' "$front_door/health") \
  || die "$front_door did not answer over TLS verified with $ca_file"
log "port 80 redirects to $front_door, which answers $answered over TLS verified with the sandbox's certificate $ca_file"
if curl -sS -o /dev/null "$front_door/health" 2>/dev/null; then
  die "a client that does not trust the sandbox's certificate reached $front_door"
fi

for phase in phase-1 phase-2 phase-3 phase-4; do
  case $phase in
    phase-4) banner "deploy phase-4: its before_deploy task migrates the schema to version 2 in a one-off task of the new revision, then the service changes" ;;
    *) banner "deploy $phase" ;;
  esac
  "$snailtrail" deploy "$phase"
done

banner "a broken build: the app listens on 8080 and ignores PORT=8000 (drill image)"
if "$snailtrail" smoke full --build-arg SHINE_DRILL_WRONG_PORT=8080 --timeout 30; then
  die "smoke should have caught the broken build"
fi
log "smoke caught it before anything changed; now deploying it anyway (--skip-smoke) to show the rollback"
set +e
"$snailtrail" deploy full --build-arg SHINE_DRILL_WRONG_PORT=8080 --skip-smoke
code=$?
set -e
[ "$code" -eq 1 ] || die "expected exit 1 (failed and rolled back to a verified deployment), got $code"

banner "canary: phase-4 as a native ECS CANARY of the one service: tested through the test listener, then 10 % and 100 % of live users under the gates"
# Users, so the gates have live traffic to compare: one request after another through the front door.
"$python" -c '
import ssl, sys, time, urllib.request
trust = ssl.create_default_context(cafile=sys.argv[2])
while True:
    try:
        urllib.request.urlopen(sys.argv[1] + "/ready", timeout=5, context=trust).read()
    except OSError:
        time.sleep(0.1)
' "$front_door" "$ca_file" &
users=$!
trap 'kill $users 2>/dev/null || true' EXIT
"$snailtrail" deploy phase-4 --strategy canary --no-build
kill $users
# ECS's own record of it: the service deployment, its stages and hooks (one service, no second colour).
"$python" - "$("$snailtrail" trail --format json)" <<'PY' || die "the canary was not a native service deployment of the one service"
import json
import sys

events = json.loads(sys.argv[1])["events"]
started = [i for i, e in enumerate(events) if e["kind"] == "deployment.started"]
if not started or "CANARY" not in events[started[-1]]["detail"]:
    sys.exit("demo.sh: no CANARY service deployment in the trail")
# The canary's own stages (a rolling deployment's events carry none).
canary = events[started[-1] :]
stages = [e["data"]["stage"] for e in canary if e["kind"] == "deployment.stage" and e["data"].get("stage")]
if "PRODUCTION_TRAFFIC_SHIFT" not in stages:
    sys.exit("demo.sh: the canary's service deployment never shifted production traffic")
print("demo.sh: ECS's canary, as snailtrail saw it: " + " -> ".join(dict.fromkeys(stages)), file=sys.stderr)
PY

banner "status"
"$snailtrail" status
banner "trail"
"$snailtrail" trail

banner "result: phase-4 verified, its analyzer enhanced with the models of the sandbox's S3, its containers as declared, its migration run first"
# The demo's job, checked rather than assumed: a rollout can succeed while the service degrades.
"$python" - "$front_door" "$("$snailtrail" status --json)" "$("$snailtrail" sandbox status --json)" "$("$snailtrail" trail --format json)" <<'PY' || die "the demo did not reach its result (see above)"
import json
import ssl
import sys
import urllib.request

import boto3

front_door, status, sandbox = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
events = json.loads(sys.argv[4])["events"]
trust = ssl.create_default_context(cafile=sandbox["ca_file"])  # the sandbox's certificate, and nothing else
problems = []
# Each phase-4 deploy ran its migration (before_deploy) to exit 0 before its service update.
migrations = 0
for run_id in dict.fromkeys(e.get("run_id") for e in events if e["kind"] == "deploy.started" and e.get("phase") == "phase-4"):
    run = [e for e in events if e.get("run_id") == run_id]
    migrated = [i for i, e in enumerate(run) if e["kind"] == "run.finished" and e["data"].get("name") == "migrate"]
    updated = [i for i, e in enumerate(run) if e["kind"] == "step" and e["data"].get("step") == "update"]
    if not migrated or not run[migrated[0]]["ok"]:
        problems.append(f"phase-4's deploy {run_id} has no migration that exited 0 in the trail")
    elif updated and updated[0] < migrated[0]:
        problems.append(f"phase-4's deploy {run_id} changed the service before its migration ran")
    else:
        migrations += 1
        last_lines = run[migrated[0]]["data"]["output"]
        print(f"demo.sh: phase-4's migration, before its service changed: {last_lines[-1] if last_lines else '(no output)'}",
              file=sys.stderr)
schemas = [e["data"]["schema"] for e in events if e["kind"] == "schema.changed"]
if not schemas or schemas[-1] != 2:
    problems.append(f"the trail's schema is {schemas[-1] if schemas else 'unrecorded'}, expected 2 (phase-4's migrations)")
if status.get("phase") != "phase-4" or not status.get("verified_at"):
    verified = "verified" if status.get("verified_at") else "NOT verified"
    problems.append(f"the service runs {status.get('phase')}, {verified}; expected phase-4, verified")
with urllib.request.urlopen(front_door + "/ml/status", timeout=10, context=trust) as answer:
    ml = json.load(answer)
if ml.get("mode") != "enhanced":
    reasons = "; ".join(ml.get("reasons") or []) or "no reason given"
    problems.append(f"ML mode through the front door is {ml.get('mode')!r}, expected 'enhanced': {reasons}")
# The init container fetched them from S3 into the task's volume; the app read them from there.
origins = sorted({str(model.get("origin")) for model in ml.get("components", {}).get("models", [])})
if origins != ["s3"]:
    problems.append(f"the models came from {origins or 'nowhere'}, expected the sandbox's S3 only")
# The sandbox's API answers only requests signed with its own key, kept in its state file (docs/sandbox.md).
from snailtrail.config.settings import load_settings
from snailtrail.sandbox import control

key = control.current(load_settings("snailtrail.yaml")).access_key
ecs = boto3.client("ecs", endpoint_url=sandbox["aws_endpoint_url"], region_name="us-east-1",
                   aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key)
definition = ecs.describe_task_definition(taskDefinition=status["task_definition"])["taskDefinition"]
declared = {c["name"]: c for c in definition["containerDefinitions"]}
if len(declared) < 2:
    problems.append(f"the live task definition has {len(declared)} container(s), expected the app and its others")
arns = ecs.list_tasks(cluster="shine", serviceName="shine", desiredStatus="RUNNING")["taskArns"]
for task in ecs.describe_tasks(cluster="shine", tasks=arns)["tasks"] if arns else []:
    if task["taskDefinitionArn"] != definition["taskDefinitionArn"] or task["lastStatus"] != "RUNNING":
        continue
    for container in task["containers"]:
        essential = declared[container["name"]].get("essential", True)
        ran = container["lastStatus"] == "RUNNING" if essential else container.get("exitCode") == 0
        if not ran:
            problems.append(f"container {container['name']} is {container['lastStatus']} "
                            f"(exit {container.get('exitCode')}); declared {'essential' if essential else 'an init container'}")
for problem in problems:
    print(f"demo.sh: {problem}", file=sys.stderr)
if problems:
    sys.exit(1)
print(f"phase-4 verified at {status['verified_at']} over {front_door}; ML mode enhanced, models from the sandbox's S3; "
      f"containers {', '.join(declared)} as declared; schema 2, migrated before each of {migrations} phase-4 deploys",
      file=sys.stderr)
PY
log "demo finished in $(elapsed_since "$T0") s; the sandbox keeps running (stop it: $snailtrail sandbox down)"
