"""Every snailtrail benchmark in one run, side by side with fabfuel's ecs-deploy; writes docs/performance.md.

    .venv/bin/python bench/run.py [--runs 10] [--pairs 3] [--no-ecs-drill] [--demo] [--only NAME ...]

Needs: the sandbox running in this repository (`snailtrail sandbox up`), a verified phase-4 there,
and ecs-deploy in a venv of its own (never the product's):

    python3 -m venv .venv-bench && .venv-bench/bin/pip install ecs-deploy

Measures, in this order, each pair of figures in the same run:
 1. cold start: `snailtrail --help` against `ecs --help` (pairwise ratio);
 2. a deploy of a new image with wait: `snailtrail deploy phase-4 --image IMG --skip-smoke` against
    `ecs deploy shine shine --image app IMG` (wall time; AWS calls counted by one botocore hook
    for both, bench/compare/count_calls.py), every snailtrail call placed in the step it served;
 3. time to notice a bad revision (the drill image fails health checks): first stopped task to
    rollback start, snailtrail against `ecs deploy --rollback` (default 300 s timeout);
 4. verify (bench/snailtrail/bench_verify.py) and, with --demo, the README demo warm;
 5. a canary of a broken revision at 10 % under live load (bench/snailtrail/bench_canary.py): failed
    gate to 100 % of production on the old revision (ECS's rollback), and the share of requests that failed.

Writes bench/results.json and docs/performance.md. The service ends on a verified phase-4.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE / "compare"))

import scenarios  # noqa: E402

sys.path.insert(0, str(HERE / "snailtrail"))
import bench_canary  # noqa: E402
import bench_verify  # noqa: E402

PHASE = "phase-4"
VERIFY_IMPORT_KEY = "python -c 'import <every module verify needs>'"
REGISTRY = "127.0.0.1:5000"


def git(*argv: str) -> str:
    return subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True, timeout=30).stdout.strip()


def bench_version(name: str) -> str | None:
    done = subprocess.run(
        [str(scenarios.BENCH_PY), "-c", f"from importlib import metadata; print(metadata.version({name!r}))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip() or None


def machine() -> dict[str, Any]:
    """bench_verify's description of the machine, plus what the side-by-side run needs."""
    base = bench_verify.machine()
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "nproc": base["nproc"],
        "cpu": base["cpu"],
        "memory_gib": base["memory_gib"],
        "kernel": base["kernel"],
        "python": base["python"],
        "load_average_start": base["load_average_before"],
        "snailtrail_venv": {
            n: base["versions"].get(n) for n in ("snailtrail", "boto3", "botocore", "moto", "typer", "rich")
        },
        "ecs_deploy_venv": {n: bench_version(n) for n in ("ecs-deploy", "boto3", "botocore", "click")},
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted_product_files": git("status", "--short", "--", "snailtrail").splitlines(),
    }


def image_of_verified(project: Path) -> str:
    """The image of the running verified revision (by digest): the base every bench image is built from."""
    status = json.loads(
        subprocess.run(
            [str(scenarios.SNAILTRAIL), "status", "--json"], cwd=project, capture_output=True, text=True, timeout=120
        ).stdout
    )
    endpoint = scenarios.sandbox_endpoint(project)
    code = (
        "import boto3,sys; td=boto3.client('ecs').describe_task_definition(taskDefinition=sys.argv[1]);"
        "print(td['taskDefinition']['containerDefinitions'][0]['image'])"
    )
    td = status["deployments"][0]["task_definition"]
    done = subprocess.run(
        [str(scenarios.SNAILTRAIL_PY), "-c", code, td],
        env=scenarios.aws_env(endpoint),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def drill_image(project: Path) -> str:
    """The drill image (the app on port 8080, failing health checks), as `snailtrail deploy full
    --build-arg SHINE_DRILL_WRONG_PORT=8080` built and pushed it: the newest local
    `REGISTRY/shine:phase-4-*-args*` tag, or $BENCH_DRILL_IMAGE. (Not rebuilt here: a build depends on
    the product tree others are editing, and on the network.)"""
    if os.environ.get("BENCH_DRILL_IMAGE"):
        return os.environ["BENCH_DRILL_IMAGE"]
    done = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}\t{{.CreatedAt}}", f"{REGISTRY}/shine"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    tags = [line.split("\t") for line in done.stdout.splitlines()]
    drills = sorted(
        (created, tag) for tag, created in tags if ":phase-4-" in tag and "-args" in tag and "norev" not in tag
    )
    if not drills:
        raise SystemExit(
            "no drill image: run `snailtrail deploy full --build-arg SHINE_DRILL_WRONG_PORT=8080 --skip-smoke` once"
        )
    return drills[-1][1]


def verify_bench(runs: int, against: str | None) -> dict[str, Any]:
    out = HERE / "snailtrail" / "results.json"
    done = subprocess.run(
        [sys.executable, str(HERE / "snailtrail" / "bench_verify.py"), "--runs", str(runs), "--out", str(out)]
        + (["--against", against] if against else []),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        return {"error": done.stderr[-1500:]}
    return json.loads(out.read_text())


def demo_warm() -> dict[str, Any]:
    scenarios.wait_for_lock(REPO)
    t0 = time.perf_counter()
    done = subprocess.run(["./scripts/demo.sh"], cwd=REPO, capture_output=True, text=True, timeout=1800)
    return {"exit_code": done.returncode, "wall_s": round(time.perf_counter() - t0, 1), "tail": done.stderr[-400:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="cold-start pairs and verify runs")
    parser.add_argument("--pairs", type=int, default=3, help="deploy pairs (ecs-deploy, then snailtrail)")
    parser.add_argument("--no-ecs-drill", action="store_true", help="skip ecs-deploy in the bad-revision scenario")
    parser.add_argument("--demo", action="store_true", help="also time ./scripts/demo.sh (warm)")
    parser.add_argument("--only", nargs="*", default=None, help="cold_start deploy notice verify canary demo")
    parser.add_argument("--canary-runs", type=int, default=3, help="broken canaries under load")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--doc", type=Path, default=REPO / "docs" / "performance.md")
    parser.add_argument("--render-only", action="store_true", help="rewrite the doc from --out")
    parser.add_argument(
        "--verify-against",
        metavar="COMMIT",
        help="verify: also run COMMIT's snailtrail/ alternately with the working tree's (pairwise ratios)",
    )
    parser.add_argument(
        "--verify-baseline",
        type=Path,
        metavar="FILE",
        help="a bench_verify.py result of an earlier commit, kept in --out and set against verify's figures",
    )
    args = parser.parse_args()
    if args.render_only:
        args.doc.write_text(render(json.loads(args.out.read_text())))
        return
    wanted = set(args.only or ["cold_start", "deploy", "notice", "verify", "canary"] + (["demo"] if args.demo else []))
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() and args.only else {}
    previous = results.get("machine")
    results["machine"] = machine()
    # Each run keeps the machine, versions and base image it ran on: a later run of one section may
    # be on another machine. Runs recorded before runs kept them ran on the machine last recorded.
    for invocation in results.get("invocations", []) if previous else []:
        invocation.setdefault("setup", setup_of(previous, results.get("base_image")))
    if args.verify_baseline:
        results["verify_baseline"] = json.loads(args.verify_baseline.read_text())
    base = image_of_verified(REPO)
    results["base_image"] = base
    results.setdefault("invocations", []).append(
        {
            "utc": results["machine"]["date_utc"],
            "commit": results["machine"]["commit"],
            "sections": sorted(wanted),
            "setup": setup_of(results["machine"], base),
        }
    )

    def save() -> None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")

    if "cold_start" in wanted:
        results["cold_start"] = scenarios.cold_start(REPO, args.runs)
        save()
    if "deploy" in wanted:
        results["deploy"] = scenarios.deploy_pairs(REPO, args.pairs, PHASE, base, REGISTRY)
        save()
    if "notice" in wanted:
        results["notice"] = scenarios.notice(
            REPO, PHASE, drill_image(REPO), REGISTRY, with_ecs=not args.no_ecs_drill, restore_image=base
        )
        save()
    if "verify" in wanted:
        results["verify"] = verify_bench(args.runs, args.verify_against)
        save()
    if "canary" in wanted:
        results["canary"] = bench_canary.canary(REPO, args.canary_runs, restore_phase=PHASE)
        save()
    if "demo" in wanted:
        results["demo_warm"] = demo_warm()
        save()
    results["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    save()
    args.doc.write_text(render(results))
    print(json.dumps({k: v for k, v in results.items() if k != "verify"}, indent=1)[:4000])


# --- docs/performance.md -------------------------------------------------------------------------


def mmm(s: dict[str, Any] | None, unit: str = " s", digits: int = 2) -> str:
    if not s:
        return "–"
    f = f"{{:.{digits}f}}"
    return f"{f.format(s['median'])}{unit} ({f.format(s['min'])}–{f.format(s['max'])})"


def dash(value: Any) -> str:
    return "–" if value is None else str(value)


def calls_text(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else dash(value)


def setup_of(m: dict[str, Any], base_image: str | None) -> dict[str, Any]:
    """What one run ran on: the machine, the two venvs' versions, the base image of its deploys."""
    return {
        "machine": f"{m['nproc']} cores, {m['cpu']}, {m['memory_gib']} GiB, kernel {m['kernel']}, Python {m['python']}",
        "snailtrail_venv": m["snailtrail_venv"],
        "ecs_deploy_venv": m["ecs_deploy_venv"],
        "base_image": base_image,
    }


def setup_lines(r: dict[str, Any]) -> list[str]:
    """One line per setup the runs used, naming the runs on it (a section's figures are its last run's)."""
    by_setup: dict[str, list[str]] = {}
    setups: dict[str, dict[str, Any]] = {}
    for invocation in r.get("invocations", []):
        setup = invocation.get("setup") or setup_of(r["machine"], r.get("base_image"))
        key = json.dumps(setup, sort_keys=True)
        setups[key] = setup
        by_setup.setdefault(key, []).append(f"{invocation['utc']} UTC")
    return [
        f"**Machine** of the runs of {', '.join(runs)}: {setups[key]['machine']}. **Versions:** snailtrail venv "
        f"{json.dumps(setups[key]['snailtrail_venv'])}; ecs-deploy venv (`.venv-bench`, not a product dependency) "
        f"{json.dumps(setups[key]['ecs_deploy_venv'])}. Base image of its deploys: `{setups[key]['base_image']}`."
        for key, runs in by_setup.items()
    ]


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        "# snailtrail performance",
        "",
        "Generated by `.venv/bin/python bench/run.py` (raw figures: `bench/results.json`; verify's own: "
        "`bench/snailtrail/results.json`). Every comparison is computed pair by pair in the same run: "
        "each snailtrail run is set against the ecs-deploy run next to it, and the ratio's median, min and "
        "max are those of the per-pair ratios. Figures are medians with (min–max).",
        "",
        "**Runs:** "
        + "; ".join(f"{i['utc']} UTC at {i['commit']}: {', '.join(i['sections'])}" for i in r.get("invocations", []))
        + ". "
        f"**Last:** {m['date_utc']} UTC, commit {m['commit']}"
        + (
            f" (uncommitted in snailtrail/: {len(m['uncommitted_product_files'])} files, others' work in progress)"
            if m.get("uncommitted_product_files")
            else ""
        )
        + ".",
        *setup_lines(r),
        f"Load average of the last run at start {m['load_average_start']}, at end {m.get('load_average_end', '?')}: "
        "**the machine and the sandbox are shared** with other people's work, so single figures move.",
        "**Sandbox:** this repository's `snailtrail sandbox up` (moto server on loopback; the sandbox "
        "reconciler runs real Docker containers as the ECS agent would, health-checks them as the target "
        "group says: every 5 s, 2 passes healthy, 2 failures unhealthy; circuit breaker at 3 failed tasks). "
        "Service `shine`, 2 tasks.",
        "",
        "## Summary",
        "",
        "| figure | snailtrail | ecs-deploy / reference | ratio (pairwise) | target |",
        "|---|---|---|---|---|",
    ]
    c = r.get("cold_start")
    if c:
        lines.append(
            f"| 1. cold start, `--help` ({c['runs']} pairs) | {mmm(c['snailtrail_s'])} | `ecs --help` {mmm(c['ecs_s'])} "
            f"| {mmm(c['ratio_pairwise'], 'x')} | ≤ 0.5x: **{'met' if c['target_met'] else 'missed'}** |"
        )
    d = r.get("deploy")
    if d and d.get("pairs_ok"):
        lines.append(
            f"| 2. deploy a new image and wait, wall ({d['pairs_ok']} pairs) | {mmm(d['snailtrail_wall_s'], ' s', 1)} "
            f"| {mmm(d['ecs_wall_s'], ' s', 1)} | {mmm(d['wall_ratio_pairwise'], 'x')} | – |"
        )
        if "snailtrail_same_work_calls" in d:
            lines.append(
                f"| 2. the same, AWS API calls for the work ecs-deploy does too | "
                f"{mmm(d['snailtrail_same_work_calls'], '', 0)} | {mmm(d['ecs_calls'], '', 0)} "
                f"| {mmm(d['same_work_ratio_pairwise'], 'x')} | no more than ecs-deploy: "
                f"**{'met' if d['target_met'] else 'missed'}** |"
            )
        lines.append(
            f"| 2. the same, all AWS API calls | {mmm(d['snailtrail_calls'], '', 0)} | {mmm(d['ecs_calls'], '', 0)} "
            f"| {mmm(d['calls_ratio_pairwise'], 'x')} | " + extra_summary(d) + " |"
        )
    n = r.get("notice")
    if n and "snailtrail" in n:
        s, e = n["snailtrail"], n.get("ecs", {})
        if not e:
            ecs_text = "ecs-deploy not run"
        elif e.get("first_stop_to_rollback_s") is not None:
            ecs_text = f"ecs-deploy --rollback: {e['first_stop_to_rollback_s']} s"
        else:
            ecs_text = (
                f"ecs-deploy --rollback: no rollback; gave up (exit {e['exit_code']}) "
                f"{e.get('first_stop_to_failure_noticed_s')} s after it, when the circuit breaker tripped"
            )
        lines.append(
            f"| 3. first failed task → rollback starts | {s['first_stop_to_rollback_s']} s | "
            f"{ecs_text}; ECS circuit breaker: ≥ 3 failed tasks; ecs-deploy without a breaker: 300 s timeout | – "
            f"| ≤ 10 s: **{'met' if n['target_met'] else 'missed'}** |"
        )
        lines.append(
            f"| 3. new revision → rollback starts | {s['update_to_rollback_s']} s | "
            f"ecs-deploy: {e.get('update_to_rollback_s') or 'no rollback'} | – | – |"
        )
    v = r.get("verify")
    if v and "verify_subprocess" in v:
        lines += verify_summary(v, r.get("verify_baseline"))
    dm = r.get("demo_warm")
    if dm:
        lines.append(
            f"| 4. README demo `./scripts/demo.sh`, warm, once | {dm['wall_s']} s (exit {dm['exit_code']}) | – | – "
            f"| ≤ 3 min warm: **{'met' if dm['exit_code'] == 0 and dm['wall_s'] <= 180 else 'missed'}** |"
        )
    else:
        lines.append(
            "| 4. README demo, warm / cold | measured by hand on 2026-11-22: warm 81–88 s; cold build 284 s (fresh clone: new venv 59 s, "
            "all images built from the base about 102 s, the deploys; engine and base image present; a new machine adds "
            "docker.io about 12 s and the base image about 55 s, about 6 min in all) | – | – | ≤ 3 min warm, ≤ 10 min "
            "fresh: **met** |"
        )
    lines += canary_summary(r.get("canary"))
    lines += [
        "",
        "The service's own latency (analyze p50/p99, `/health`, start-up, image sizes) is measured by "
        "`bench/service/run.py`: see [service.md, Benchmarks](service.md#benchmarks-2026-11-22-2-cores-python-3117).",
        "",
    ]
    lines += (
        section_cold(c)
        + section_deploy(d)
        + section_notice(n)
        + section_verify(v, r.get("demo_warm"), r.get("verify_baseline"))
    )
    lines += section_canary(r.get("canary"))
    # The suite's own time is measured apart (bench/suite_time/run.sh); its section is carried over as written.
    lines += ["", (HERE / "suite_time" / "section.md").read_text().rstrip("\n")]
    return "\n".join(lines) + "\n"


def section_cold(c: dict[str, Any] | None) -> list[str]:
    if not c:
        return []
    return [
        "## 1. Cold start",
        "",
        f"`snailtrail --help` {mmm(c['snailtrail_s'])}, `ecs --help` {mmm(c['ecs_s'])}, a bare `python -c pass` "
        f"{mmm(c['python_c_pass_s'])}; ratio {mmm(c['ratio_pairwise'], 'x')}. Both are new processes with warm page "
        "and bytecode caches (bytecode cached outside the tree, `PYTHONPYCACHEPREFIX`), run alternately.",
        "",
        "What limits it, new processes each (median): "
        + ", ".join(f"{name} {v['median']:.2f} s" for name, v in c.get("floors_s", {}).items())
        + ". The interpreter is the floor under both. ecs-deploy's entry point imports boto3 at module "
        "level (`ecs_deploy/ecs.py`), so its `--help` pays boto3's import; snailtrail's `--help` imports no "
        "boto3, pydantic, yaml or docker, and prints click's plain help (typer's rich panels cost 0.25 s "
        "more when they were on). " + cold_verdict(c),
        "",
    ]


def cold_verdict(c: dict[str, Any]) -> str:
    target = c["ecs_s"]["median"] / 2
    imp = c.get("floors_s", {}).get("snailtrail venv: import snailtrail.cli", {}).get("median")
    floor = c.get("floors_s", {}).get("python -c pass", {}).get("median")
    if imp is None:
        return ""
    head = (
        f"0.5x of ecs-deploy's median is {target:.2f} s; snailtrail's `--help` is {c['snailtrail_s']['median']:.2f} s. "
    )
    if imp >= target:
        return head + (
            f"Importing snailtrail.cli alone ({imp:.2f} s, interpreter {floor:.2f} s included) is already over it, "
            "so the target needs a lighter import path for `--help` (no typer command modules, no rich) as well "
            "as plain-text help."
        )
    return head + (
        f"Importing snailtrail.cli ({imp:.2f} s) fits under it; the rest, {c['snailtrail_s']['median'] - imp:.2f} s, "
        "is formatting the help. What remains is the interpreter and the CLI's own imports (typer, click)."
    )


def retry_note(d: dict[str, Any]) -> str:
    wait = d.get("snailtrail_by_purpose_first", {}).get("wait", {})
    if wait.get("ecs.ListTasks") == 1 and wait.get("ecs.DescribeTasks") == 1:
        return (
            "The counter would see a retry as one more request: the wait's one ListTasks and one DescribeTasks "
            "(first pair) show none there, though a retried DescribeServices cannot be told from a poll."
        )
    return "The wait read the tasks more than once in the first pair: a retry, or tasks not yet healthy."


def extra_work(d: dict[str, Any]) -> dict[str, dict[str, int]]:
    """snailtrail's calls (first pair) for work ecs-deploy does not do, by what each is for."""
    return {work: ops for work, ops in d.get("snailtrail_by_work_first", {}).items() if work != scenarios.SAME_WORK}


def extra_summary(d: dict[str, Any]) -> str:
    extra = extra_work(d)
    if not extra:
        return "–"
    parts = ", ".join(f"{work} {sum(ops.values())}" for work, ops in extra.items())
    return f"the rest is work ecs-deploy does not do (first pair: {parts})"


def ops_text(ops: dict[str, int]) -> str:
    return ", ".join(f"{k} ×{v}" for k, v in ops.items())


def section_deploy(d: dict[str, Any] | None) -> list[str]:
    if not d or not d.get("pairs_ok"):
        return ["## 2. Deploy", "", f"Not measured: {json.dumps(d)[:500] if d else 'skipped'}.", ""]
    st_ops = d["snailtrail_by_operation_first"]
    ecs_ops = d["ecs_by_operation_first"]
    by_work = d["snailtrail_by_work_first"]
    same = by_work.get(scenarios.SAME_WORK, {})
    purpose_rows = [
        f"| {purpose} | {sum(ops.values())} | {ops_text(ops)} |"
        for purpose, ops in d["snailtrail_by_purpose_first"].items()
    ]
    work_rows = [f"| {work} | {sum(ops.values())} | {ops_text(ops)} |" for work, ops in by_work.items()]
    per_pair = [
        f"| {i + 1} | {p['ecs']['wall_s']} s, {p['ecs']['calls']} calls | "
        f"{scenarios.same_work_calls(p['snailtrail'])} calls | {p['snailtrail']['wall_s']} s, "
        f"{p['snailtrail']['calls']} calls | {p['snailtrail']['exit_code']} / {p['ecs']['exit_code']} |"
        for i, p in enumerate(d["runs"])
    ]
    wait = d["snailtrail_by_purpose_first"].get("wait", {})
    polls = wait.get("ecs.DescribeServices", 0)
    state_table = {k: v for k, v in st_ops.items() if k.startswith("dynamodb.")}
    trail_writes = state_table.get("dynamodb.PutItem", 0) - 1  # one is the lock's
    moto_note = (
        " Its ListTasks names no desired status, and the sandbox (moto) then lists the cluster's stopped "
        "tasks as well, all in one page, so they are described 100 a call: against ECS, which lists "
        "running tasks by default, that is one DescribeTasks."
        if ecs_ops.get("ecs.DescribeTasks", 0) > ecs_ops.get("ecs.ListTasks", 0)
        else ""
    )
    return [
        "## 2. Deploy a new image, with wait",
        "",
        "Each pair: two fresh images built from the base (one `LABEL` each, so a new digest and a new "
        f"revision for either tool, same content), then `ecs deploy shine shine --image app IMG --no-deregister` "
        f"(its default 1 s poll, 300 s timeout), then `snailtrail deploy {d['phase']} --image IMG --skip-smoke --json` "
        "(1 s poll in the sandbox). snailtrail goes second in every pair so the service ends verified. "
        "`--no-deregister` because the sandbox is shared and ecs-deploy would otherwise deregister "
        "snailtrail's verified revision; ecs-deploy's default would add 1 `DeregisterTaskDefinition`. "
        "Calls are HTTP requests counted by the same botocore `before-send` hook in both processes "
        "(`bench/compare/count_calls.py`, retries included).",
        "",
        "| pair | ecs-deploy | snailtrail, the same work | snailtrail, all | exit (snailtrail / ecs) |",
        "|---|---|---|---|---|",
        *per_pair,
        "",
        f"ecs-deploy's calls (first pair): {ops_text(ecs_ops)}. It reads the service and the revision to copy, "
        "registers, updates, then reads the service again as its wait starts and once a second after that "
        f"({ecs_ops.get('ecs.DescribeServices', 0)} DescribeServices in all) until one deployment is left, and "
        "only then lists and describes the tasks (once per poll from then on) to count RUNNING ones of the new "
        f"revision. It checks nothing after that.{moto_note}",
        "",
        "snailtrail's calls (first pair) by the work they do, the same as ecs-deploy's or work it does not do "
        "(`bench/compare/scenarios.py`, `by_work`):",
        "",
        "| work | calls | which |",
        "|---|---|---|",
        *work_rows,
        "",
        "and each placed in the step the trail records as ending next (the trail logs a step when it ends; "
        "a DynamoDB PutItem is the trail event of the step before it, or the lock):",
        "",
        "| purpose (trail step) | calls | which |",
        "|---|---|---|",
        *purpose_rows,
        "",
        f"**For the same work, snailtrail makes {mmm(d['snailtrail_same_work_calls'], ' calls', 0)} against "
        f"ecs-deploy's {mmm(d['ecs_calls'], '', 0)}** (pairwise ratio {mmm(d['same_work_ratio_pairwise'], 'x')}): "
        "the target, no more calls than ecs-deploy for the same work, is "
        + ("**met** in every pair" if d["target_met"] else "**missed** in at least one pair")
        + f". Those calls, step by step (first pair: {sum(same.values())} against {sum(ecs_ops.values())}):",
        "",
        "- the plan, before anything changes: DescribeServices (the service, its deployments and events), "
        "DescribeTaskDefinition (the live revision, for the plan's diff; ecs-deploy reads it to copy it) and "
        "one Resource Groups Tagging GetResources for every revision snailtrail tagged, from which the "
        "identical revision to reuse and the rollback target are chosen locally; the register step and a "
        "rollback use the same answer (the deploy lock is held, so only this run changes those tags, and it "
        "records what it writes). That is one request per 100 such revisions in the account (AWS's largest "
        "page); the sandbox's moto pages at 100 tags, about 20 revisions;",
        "- register and update: RegisterTaskDefinition, UpdateService. The update reuses the plan's read of "
        "the service (made under the lock) for the events already there instead of reading it again;",
        f"- the wait: one DescribeServices a poll ({polls} here), the first one poll interval after the update "
        "(nothing can have happened sooner), and one ListTasks + DescribeTasks once the deployment is complete, "
        "to confirm that its running tasks are the new revision and none is UNHEALTHY. The tasks are read "
        "before that only when the deployment's counters say a task stopped (failedTasks above zero, "
        "runningCount falling), to report why.",
        "",
        f"**In all, snailtrail makes {mmm(d['snailtrail_calls'], ' calls', 0)}** "
        f"({mmm(d['calls_ratio_pairwise'], 'x')} ecs-deploy's, pairwise); in the first pair "
        f"{sum(st_ops.values()) - sum(same.values())} of its {sum(st_ops.values())} are work ecs-deploy does not do:",
        "",
        f"- the state table, {sum(state_table.values())} calls: one PutItem per trail event ({trail_writes} in "
        "this run: the run's start, each step as it ends, the run's end) and the deploy lock (a PutItem "
        "and a DeleteItem). One write per event is deliberate: the trail is the audit record, and each step "
        "is in it as soon as it ends, whatever happens to the process next; batching the writes would lose the "
        "last steps of a run that dies. The run now ends with one event (`deploy.finished` says the phase "
        "verified; the separate `phase.verified` event is gone);",
        "- verify: target health (DescribeTargetGroups, DescribeTargetHealth): the new tasks are the "
        "load balancer's healthy targets;",
        "- mark: the `verified` tag (TagResource), which is what a later rollback looks for.",
        "",
        "What limits the same work: its floor is ecs-deploy's own pattern, about 6 calls plus one per poll "
        "(read the service and a revision, register, update, one DescribeServices a poll, the tasks once at "
        "the end). snailtrail's is that pattern plus the one GetResources that finds revisions ecs-deploy "
        "never looks for (an identical one to reuse, the rollback target), and minus the poll ecs-deploy "
        "makes the moment its wait starts. The number of polls is the health checks' doing, the same for "
        "both tools; fewer would mean polling less often, which costs time to notice. " + retry_note(d),
        "",
        "Time to notice, cost and benefit: reading the tasks only when the deployment's counters move costs "
        "nothing in time. ECS (and the sandbox's reconciler) counts a failed task as it stops it, so the "
        "first poll that shows failedTasks above zero is the one that reads the stopped task and fails the "
        "rollout: the same poll on which reading the tasks every time would have seen it, so figure 3's "
        "floor stays one poll interval after the first stop. A failure whose count ECS has already reset "
        "(another task turned healthy: its circuit breaker's default) shows as runningCount falling, on the "
        "same poll; only a task that stops and is replaced between two polls while another turns healthy "
        "goes unseen, which reading the tasks every poll caught only for a task it had already seen. What it costs is 2 calls on a failing rollout (again each poll while failedTasks is "
        "above zero and the stopped task is not yet listed); what it saves is 2 calls on every poll of every "
        f"rollout, {2 * max(polls - 1, 0)} in this one.",
        "",
        "Wall time: both tools wait for the same thing, the sandbox's health checks (new tasks healthy after "
        "2 probes 5 s apart, then the old tasks drain), which is the floor either tool sits on; ecs-deploy's "
        f"fastest run here, {d['ecs_wall_s']['min']:.1f} s, is the nearest measured figure to it. snailtrail's "
        f"median is {d['snailtrail_wall_s']['median']:.1f} s against ecs-deploy's {d['ecs_wall_s']['median']:.1f} s "
        f"({d['wall_ratio_pairwise']['median']:.2f}x pairwise, {d['wall_ratio_pairwise']['min']:.2f}–"
        f"{d['wall_ratio_pairwise']['max']:.2f}x). What snailtrail adds is its pre-flight reads, its verify step "
        "(HTTP probes through the front door, target health), the tag and trail writes and a heavier start-up; "
        "when a pair differs by more than a probe interval, it is which 5 s health-check tick the new tasks "
        "landed on. This run did not split it further.",
        "",
    ]


def section_notice(n: dict[str, Any] | None) -> list[str]:
    if not n or "snailtrail" not in n:
        return []
    s, e = n["snailtrail"], n.get("ecs")
    out = [
        "## 3. Time to notice a bad revision",
        "",
        "The drill image (`--build-arg SHINE_DRILL_WRONG_PORT=8080`: the app listens on 8080, the target "
        "group probes 8000) relabelled to a new digest, deployed with `--skip-smoke`. Its tasks start, fail "
        "the target group's health checks after the 20 s grace period and are stopped by the sandbox "
        "reconciler (`Task failed ELB health checks`). Measured from the first stopped task's `stoppedAt` "
        "(describe_tasks) to the rollback starting: snailtrail's `rollback.started` trail event; for "
        "ecs-deploy `--rollback` its second UpdateService.",
        "",
        "One run of each tool (the scenario takes about a minute per tool and leaves the service to be restored).",
        "",
        "| | snailtrail | ecs-deploy --rollback (300 s timeout) |",
        "|---|---|---|",
    ]
    keys = [
        ("new revision → first stopped task, s", "update_to_first_stop_s"),
        (
            "first stopped task → failure noticed (snailtrail: wait step fails; ecs-deploy: exits), s",
            "first_stop_to_failure_noticed_s",
        ),
        ("first stopped task → rollback starts, s", "first_stop_to_rollback_s"),
        ("new revision → rollback starts, s", "update_to_rollback_s"),
        ("stopped tasks before the rollback (ecs-deploy: before it exits)", "stopped_tasks_before_rollback"),
        ("exit code", "exit_code"),
        ("wall of the whole command, s", "wall_s"),
        ("AWS calls", "calls"),
    ]
    for label, key in keys:
        ecs_value = (e or {}).get(key, "not run") if e is not None else "not run"
        out.append(f"| {label} | {dash(s.get(key))} | {dash(ecs_value)} |")
    out += [
        "",
        f"Target, within one probe interval of the first failure (≤ 10 s): **{'met' if n['target_met'] else 'missed'}**. "
        "snailtrail polls every second in the sandbox and fails the rollout on the first stopped task of "
        "the new revision, so its floor is the poll interval (1 s; 5 s against AWS) plus the time to write "
        "the trail. The time before the first stopped task is not snailtrail's: the 20 s "
        "`health_check.grace_period_s` of `phases/*.yaml`, then 2 failed probes 5 s apart. The sandbox does "
        "not record the first failed probe itself; it comes one probe interval (5 s) before the stop, so "
        "counted from it snailtrail's figure would be about 5 s more, still within the target.",
        "",
        "ecs-deploy fails early only when ECS reports the rollout FAILED (the deployment circuit breaker, "
        "which needs at least 3 failed tasks: in real ECS its threshold is half the desired count, at least 3 "
        "and at most 200) or on a service event containing 'unable'. Without the "
        "circuit breaker enabled it waits its whole `--timeout`, 300 s by default, before it fails or "
        "rolls back. The sandbox's reconciler trips the breaker at 3 failed tasks, which is what ended "
        "ecs-deploy's wait here. And ecs-deploy 1.17.0's `--rollback` acts only on its own timeout or an "
        "'unable' event (`TaskPlacementError` in `ecs_deploy/cli.py`): a rollout ECS reports FAILED makes it "
        "print 'Deployment Failed!' and exit 1 with the service left on the failing revision (real ECS would "
        "roll back by itself only if the breaker's `rollback` is on). Here the bench put the verified "
        "revision back with snailtrail afterwards.",
        "",
    ]
    if n.get("restore"):
        out += [
            f"Afterwards the service was put back on its verified revision with `{n['restore']['command']}` "
            f"(exit {n['restore']['exit_code']}).",
            "",
        ]
    return out


def seconds_text(s: dict[str, Any]) -> str:
    """bench_verify's stats: median (min–max)."""
    return f"{s['median_s']} s ({s['min_s']}–{s['max_s']})"


def verify_summary(v: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    """Figure 4's rows: verify's wall and calls, against its target and the baseline's figures."""
    vs, ip = v["verify_subprocess"], v.get("verify_in_process", {})
    target = v.get("target", {}).get("verify_wall_s", 1.5)
    rows = [
        f"| 4. `snailtrail verify --json`, wall ({vs['wall']['n']} runs) | {seconds_text(vs['wall'])} | "
        + (
            f"before, {before['code']['head']}: {seconds_text(before['verify_subprocess']['wall'])} | "
            f"{vs['wall']['median_s'] / before['verify_subprocess']['wall']['median_s']:.2f}x (medians) | "
            if before
            else "– | – | "
        )
        + f"≤ {target} s: **{'met' if vs['wall']['median_s'] <= target else 'missed'}** (median), max "
        f"{'met' if vs['wall']['max_s'] <= target else 'missed'} |"
    ]
    against = v.get("against")
    if against:
        rows.append(
            f"| 4. the same, alternating with {against['commit']}'s verify ({against['pairs']} pairs, same load) | "
            f"{seconds_text(against['now']['wall'])} | {against['commit']}: {seconds_text(against['baseline']['wall'])} "
            f"| {mmm(against['wall_ratio_pairwise'], 'x')} | – |"
        )
    calls = ip.get("api_calls_per_run") or []
    if before:
        before_calls = before.get("verify_in_process", {}).get("api_calls_per_run") or []
        fewer = bool(calls and before_calls) and max(calls) <= min(before_calls)
        rows.append(
            f"| 4. verify AWS calls per run | {calls_text(calls)} | before: {calls_text(before_calls)} | – | "
            f"no more than before: **{'met' if fewer else 'missed'}** |"
        )
    else:
        rows.append(
            f"| 4. verify AWS calls per run | {calls_text(calls)} | – | – | no describe repeated: "
            f"**{'met' if not ip.get('repeated_describe_calls') else 'missed'}** |"
        )
    return rows


def repeats_text(repeated: dict[str, int] | None) -> str:
    if not repeated:
        return "none repeated"
    return (
        f"operations called more than once: {json.dumps(repeated)} (counted by name: each revision is its own "
        "DescribeTaskDefinition, the running one and the rollback candidates; ListTasks takes one desired status "
        "a call, RUNNING for target health and STOPPED for memory, and a DescribeTasks follows each)"
    )


def against_text(against: dict[str, Any] | None) -> list[str]:
    if not against:
        return []
    now, then = against["now"], against["baseline"]
    return [
        f"In the same load, alternating ({against['pairs']} pairs, the order swapped each pair; {against['commit']}'s "
        f"snailtrail/ first on PYTHONPATH): now {seconds_text(now['wall'])}, CPU {now['cpu']['median_s']} s, "
        f"{calls_text(now['api_calls'])} calls; {against['commit']} {seconds_text(then['wall'])}, CPU "
        f"{then['cpu']['median_s']} s, {calls_text(then['api_calls'])} calls. Pair by pair, the wall is "
        f"{mmm(against['wall_ratio_pairwise'], 'x')} and the CPU {mmm(against['cpu_ratio_pairwise'], 'x')} the "
        f"baseline's.",
        "",
    ]


def verify_before_after(v: dict[str, Any], before: dict[str, Any]) -> list[str]:
    """The baseline's figures against this run's, and what changed between them (issue 13, item 7)."""

    def figures(run: dict[str, Any]) -> str:
        sub, inproc = run["verify_subprocess"], run.get("verify_in_process", {})
        return (
            f"{sub['wall']['median_s']} s median ({sub['wall']['min_s']}–{sub['wall']['max_s']}), CPU "
            f"{sub['verify_cpu_s']['median_s']} s, {calls_text(inproc.get('api_calls_per_run'))} calls per run, "
            f"load average {run.get('machine', {}).get('load_average_before')} at its start"
        )

    wall = v["verify_subprocess"]["wall"]["median_s"] / before["verify_subprocess"]["wall"]["median_s"]
    cpu = v["verify_subprocess"]["verify_cpu_s"]["median_s"] / before["verify_subprocess"]["verify_cpu_s"]["median_s"]
    return [
        f"Before and after (issue 13, item 7), the same bench with the same sandbox state: at "
        f"{before['code']['head']} ({before.get('date')}) {figures(before)}; at {v['code']['head']} ({v.get('date')}) "
        f"{figures(v)}. Wall {wall:.2f}x, CPU {cpu:.2f}x the baseline's medians. The machine is shared, so its "
        "load differs between the two runs; the CPU figure moves less with it than the wall.",
        "",
        "What changed, from profiling the baseline by hand on 2026-11-25 (cProfile, `-X importtime`, the "
        "process's rusage, an interleaved A/B of 15 to 20 pairs for each candidate): of its 0.9 s CPU, about 0.2 s "
        "was the interpreter's last full garbage collection at exit, over the 150,000 objects still alive "
        "(botocore's parsed service models, most of them), and about 0.08 s the collector running about 300 "
        "times during the run over the same data. `snailtrail.cli.main` now freezes the heap before the "
        "process exits (`gc.freeze`: the exit's collection leaves the frozen objects out; reference counting "
        "still frees them), and verify pauses the cyclic collector while it runs (`cyclic_gc_paused` in "
        "`commands/verify.py`; it is back as found after, also in process). One call fewer: the grace-period "
        "and rollback-readiness checks each read the trail (a DynamoDB Query); they now share the view's one "
        "read. Tried and kept out, the A/B no faster and its CPU higher: more worker threads "
        "(24 instead of 8), and counting calls under a lock of their own instead of the one that creating a "
        "client holds (calls then start while ec2's client is made, but both compete for the GIL; the "
        "sandbox answering them shares the same two cores). Measured and left: botocore sessions in place of boto3's "
        "(about 15 ms less importing, for a second way to make sessions) and rich imported only when something "
        "prints through it (about 30 ms, for `--json` only). "
        "What remains is CPU: the imports (dnspython, botocore, pydantic with typer's "
        "parameter adapters, rich), creating eight clients (ec2's 4.4 MB model alone about 0.1 s) and the "
        "checks' calls.",
        "",
    ]


def section_verify(
    v: dict[str, Any] | None, demo: dict[str, Any] | None, before: dict[str, Any] | None = None
) -> list[str]:
    out = ["## 4. verify, the service, the demo", ""]
    if v and "verify_subprocess" in v:
        vs, ip, fl = v["verify_subprocess"], v.get("verify_in_process", {}), v.get("floors", {})
        live = v.get("deployment", {})
        target = v.get("target", {}).get("verify_wall_s", 1.5)
        startup = v.get("startup", {})
        out += [
            f"`snailtrail verify --json` as a new process: {vs['wall']['median_s']} s median "
            f"({vs['wall']['min_s']}–{vs['wall']['max_s']}), its own CPU {vs['verify_cpu_s']['median_s']} s; "
            f"in process {ip.get('wall', {}).get('median_s')} s; {calls_text(ip.get('api_calls_per_run'))} AWS calls per run, "
            f"{repeats_text(ip.get('repeated_describe_calls'))}. "
            f"Checks: {json.dumps(vs.get('statuses'))}. Live: {live.get('phase')}"
            + f"; load average {v.get('machine', {}).get('load_average_before')} at the start, "
            f"{v.get('load_average_after')} at the end.",
            "",
        ]
        out += verify_before_after(v, before) if before else []
        out += against_text(v.get("against"))
        out += [
            f"What limits it: CPU, not AWS. In fresh processes, importing every module verify needs takes "
            f"{startup.get(VERIFY_IMPORT_KEY, {}).get('median_s')} s (the bare interpreter "
            f"{startup.get('python -c pass', {}).get('median_s')} s, `import boto3` "
            f"{fl.get('import_boto3_ms_median')} ms of it), creating five of its eight clients "
            f"{fl.get('client_creation_total_ms_median')} ms, and one describe through the sandbox's moto "
            f"{fl.get('describe_call_ms_median')} ms, so the {calls_text(ip.get('api_calls_per_run'))} calls cost about "
            f"{round((fl.get('describe_call_ms_median') or 0) * max(ip.get('api_calls_per_run') or [0]) / 1000, 2)} s "
            "even one after another. The wall time above the process's CPU time is waiting: on the sandbox, "
            "which answers on the same two cores, and on other people's work, which shows directly in the wall "
            "time on this shared machine (the per-run CPU the rest of the machine used, the sandbox answering "
            "verify included, is in `bench/snailtrail/results.json`). "
            f"The {target} s target leaves little room above the imports and the clients.",
            "",
        ]
    else:
        out += ["verify: not measured in this run (see `bench/snailtrail/results.json` for the last one).", ""]
    if demo:
        out += [
            f"README demo, warm (venv, engine, base image and registry reused; images from the build cache): "
            f"{demo['wall_s']} s, exit {demo['exit_code']}. Most of it is waiting on health checks: four deploys "
            "of about 8–9 s each (5 s interval, 2 passes), the broken deploy noticed after the 20 s grace "
            "period, the rollback's wait, and the native canary of phase-4 (the new revision's start and "
            "health checks in the alternate group, then ECS's canary bake of 10 and bake of 5 sandbox minutes). The cold run (fresh clone, new venv, images built "
            "from the base) was last timed by hand before the canary was added: 284 s, about 6 minutes on a "
            "new machine; the canary adds about 40 s to either.",
            "",
        ]
    else:
        out += [
            "README demo (timed by hand, 2026-11-22): 81–88 s warm, of which about 66 s is waiting on health "
            "checks (5 s interval, 2 passes, the 20 s grace period of the drill). Cold, in a fresh clone with the "
            "phase images and their build cache removed: 284 s, of which the new venv is 59 s, the four image builds "
            "about 102 s (pip downloads inside the builds) and the deploys and the drill the rest. A new machine "
            "adds installing docker.io (about 12 s) and making the base image with debootstrap (about 55 s): about "
            "6 minutes in all, against the 10-minute target.",
            "",
        ]
    return out


def canary_figures(k: dict[str, Any]) -> dict[str, dict[str, Any]]:
    runs = [x for x in k["runs"] if x.get("gate")]
    return {
        # Native (issue 20): production is on the old revision once users stop reaching the new one; ECS's
        # ROLLBACK_SUCCESSFUL comes later, after its clean-up. The listener update of the two-colour mode
        # was the switch itself.
        "switch": scenarios.stats(
            [
                x["decision_to_last_canary_answer_s"]
                if k.get("native")
                else max(x["decision_to_last_canary_answer_s"], x["decision_to_listener_updated_s"])
                for x in runs
            ]
        ),
        "listener": scenarios.stats([x["decision_to_listener_updated_s"] for x in runs]),
        "exposure": scenarios.stats([x["first_canary_answer_to_decision_s"] for x in runs]),
        "during": scenarios.stats([x["failed_while_canary_took_traffic"]["share"] for x in runs], 4),
        "step": scenarios.stats([x["failed_over_planned_step"]["share"] for x in runs], 4),
        "after": scenarios.stats([x["failed_after_abort"]["failed"] for x in runs], 0),
    }


def _pct(s: dict[str, Any]) -> str:
    return f"{s['median']:.1%} ({s['min']:.1%}–{s['max']:.1%})"


def canary_summary(k: dict[str, Any] | None) -> list[str]:
    if not k:
        return []
    f = canary_figures(k)
    n = len(k["runs"])
    return [
        f"| 5. native canary at {k['weight']} %, failed gate → 100 % of production on the old revision (the last "
        f"answer from the new revision, {n} runs) | "
        f"{mmm(f['switch'], ' s', 3)} "
        f"| – | – | ≤ 2 s: **{'met' if f['switch']['max'] <= 2 else 'missed'}** |",
        *(
            [
                f"| 5. failed gate → ECS's service deployment ROLLBACK_SUCCESSFUL, as snailtrail followed it | "
                f"{mmm(f['listener'], ' s', 3)} | – | – | – |"
            ]
            if k.get("native")
            else []
        ),
        f"| 5. requests failed over the {k['weight']} % step as planned ({k['bake_s']} s) | {_pct(f['step'])} | – | – "
        f"| < 10 %: **{'met' if f['step']['max'] < 0.10 else 'missed'}** |",
        f"| 5. requests failed while the canary took traffic ({f['exposure']['median']:.1f} s) | {_pct(f['during'])} "
        "| the canary's weight | – | – |",
        f"| 5. requests failed after ECS's rollback | {f['after']['median']:.0f} (max {f['after']['max']:.0f}) | – | – "
        f"| none: **{'met' if f['after']['max'] == 0 else 'missed'}** |",
    ]


def section_canary(k: dict[str, Any] | None) -> list[str]:
    if not k:
        return []
    f = canary_figures(k)
    rows = [
        f"| {i + 1} | {x.get('gate')} | {x['decision_to_listener_updated_s']} s | {x['decision_to_last_canary_answer_s']} s "
        f"| {x['first_canary_answer_to_decision_s']} s | {x['canary_answers']} "
        f"| {x['failed_while_canary_took_traffic']['failed']}/{x['failed_while_canary_took_traffic']['requests']} "
        f"| {x['failed_over_planned_step']['failed']}/{x['failed_over_planned_step']['requests']} "
        f"| {x['failed_after_abort']['failed']}/{x['failed_after_abort']['requests']} | {x['requests_per_s']} |"
        for i, x in enumerate(k["runs"])
    ]
    return [
        "",
        "## 5. A native canary of a broken revision, rolled back through ECS",
        "",
        f"With {k['phase']} live (deployed rolling first), `snailtrail deploy {k['phase']} --no-build --skip-smoke` with "
        "the manifest's environment plus `SHINE_DRILL_FAIL_REQUESTS=1` (the service answers /health, so the load "
        f"balancer and {k['phase']}'s criteria through the test listener find it healthy, and 500 to every other "
        "request; phase-4's criteria also probe /ready and /metrics, so there the test step stops it before any user "
        "sees it) and the canary strategy, a native ECS CANARY of the one service: "
        f"{k['weight']} % for {k['bake_s']} s, gates judging from 10 requests. {k['clients']} clients send GET /ready "
        "through the front door the whole time; the front door says which target group answered each request. "
        "The decision is the trail's `gate.failed` event (the gate's verdict); 100 % of production on the old revision "
        "is the last answer the new revision gave, or ECS's ROLLBACK_SUCCESSFUL as snailtrail saw it "
        "(`traffic.restored`) when that came later.",
        "",
        "| run | gate | decision → ROLLBACK_SUCCESSFUL | decision → last answer from the canary | first canary answer → "
        "decision | canary answers | failed while the canary took traffic | failed over the planned step | failed after "
        "the abort | requests/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"What limits it. The switch is ECS's rollback ({f['listener']['median']} s median here from the decision to "
        "ROLLBACK_SUCCESSFUL, which the sandbox's engine reports after its clean-up of the new revision; users "
        f"stopped reaching the new revision within {f['switch']['max']} s: snailtrail's StopServiceDeployment "
        "ROLLBACK, ECS moving the listener rules' weights back on its next pass) and the requests already in flight "
        "to the canary. The exposure, "
        f"{f['exposure']['median']:.1f} s from the first failing answer to the decision, is the gates' evidence: "
        "min_requests on the new revision, the metric period (1 s in the sandbox; an ALB publishes per minute, about "
        "a minute late, so in AWS the exposure is one to two minutes whatever the gate) and the evaluation interval "
        "(half a period). While the canary took traffic the failed share is the canary's weight, as it must be: a "
        "gate cannot see failures before they happen, it can only end them; over the step as planned the share is "
        "that weight times exposure over bake, and after the rollback nothing failed.",
    ]


if __name__ == "__main__":
    main()
