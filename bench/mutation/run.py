"""Mutation testing of the safety-critical modules with mutmut, one module at a time.

    .venv/bin/python bench/mutation/run.py MODULE [MODULE...]   # names from bench/mutation/modules.toml
    .venv/bin/python bench/mutation/run.py --all

Not part of CI (a module takes minutes to an hour). Each module runs in a scratch copy of the working
tree (bench/mutation/work/MODULE, ignored by git) whose pyproject.toml gains the [tool.mutmut] section for
that module alone, so mutmut mutates only it and runs only its tests. Each run prints the score and
writes it, with every surviving mutant's diff, to bench/mutation/results/MODULE.json; docs/testing.md
keeps the scores and explains the survivors.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MODULES = tomllib.loads((HERE / "modules.toml").read_text())["modules"]
# What the tests read besides the package and themselves: the fixtures' config, phases, images, service.
ALSO_COPY = ["tests", "snailtrail.yaml", "phases", "images", "service", "docs"]


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def register_checks_after_definition(path: Path) -> None:
    """``@check(...) def name`` as ``def name`` followed by ``name = check(...)(name)``: mutmut 3 does not mutate a
    decorated function, so a check's own body would go unmutated. Same registration, same order."""
    source = path.read_text()
    lines = source.splitlines(keepends=True)
    declared = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef)
        and len(node.decorator_list) == 1
        and isinstance(node.decorator_list[0], ast.Call)
        and isinstance(node.decorator_list[0].func, ast.Name)
        and node.decorator_list[0].func.id == "check"
    ]
    for node in reversed(declared):  # from the bottom, so that earlier line numbers hold
        decorator = node.decorator_list[0]
        declaration = ast.get_source_segment(source, decorator)
        assert node.end_lineno is not None and decorator.end_lineno is not None
        lines.insert(node.end_lineno, f"\n\n{node.name} = {declaration}({node.name})\n")
        del lines[decorator.lineno - 1 : decorator.end_lineno]
    path.write_text("".join(lines))


def scratch_copy(name: str, check_bodies: bool = True) -> Path:
    """The working tree's tracked and new files (not the venv, not earlier mutants) in a fresh folder."""
    work = HERE / "work" / name
    shutil.rmtree(work, ignore_errors=True)
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for relative in filter(None, files):
        source = REPO / relative
        if relative.startswith("bench/") or not source.is_file():
            continue
        target = work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    module = MODULES[name]
    for mutated in module["paths"] if check_bodies else []:
        register_checks_after_definition(work / mutated)
    with (work / "pyproject.toml").open("a") as config:
        config.write(
            "\n[tool.mutmut]\n"
            # The whole package is copied (the tests import all of it); only the module is mutated.
            'source_paths = ["snailtrail"]\n'
            f"only_mutate = {toml_list(module['paths'])}\n"
            f"also_copy = {toml_list(ALSO_COPY)}\n"
            f"pytest_add_cli_args_test_selection = {toml_list(module['tests'])}\n"
            # One process per mutant (mutmut forks): no xdist workers inside it, no cache to share.
            'pytest_add_cli_args = ["-n", "0", "-p", "no:cacheprovider", "-q", "-x"]\n'
        )
    return work


def score(work: Path) -> dict[str, object]:
    subprocess.run([sys.executable, "-m", "mutmut", "export-cicd-stats"], cwd=work, check=True, capture_output=True)
    stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
    listed = subprocess.run(
        [sys.executable, "-m", "mutmut", "results"], cwd=work, check=True, capture_output=True, text=True
    ).stdout
    survivors = [line.split(":")[0].strip() for line in listed.splitlines() if line.strip().endswith(": survived")]
    diffs = {
        name: subprocess.run(
            [sys.executable, "-m", "mutmut", "show", name], cwd=work, check=False, capture_output=True, text=True
        ).stdout
        for name in survivors
    }
    return {"stats": stats, "survivors": diffs}


def commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "snailtrail", "tests"], cwd=REPO, capture_output=True)
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def run(name: str, children: int, check_bodies: bool = True) -> dict[str, object]:
    tested = commit()  # what the scratch copy is made from
    work = scratch_copy(name, check_bodies)
    started = time.monotonic()
    environment = {k: v for k, v in os.environ.items() if k != "CI"}
    mutation = subprocess.run(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(children)], cwd=work, env=environment, check=False
    )
    if mutation.returncode != 0:
        # Most often the unmutated tests failed in the copy (a file they read is not copied): no score.
        raise SystemExit(f"{name}: mutmut run exited {mutation.returncode}; see its output above")
    result = {
        "module": name,
        "paths": MODULES[name]["paths"],
        "tests": MODULES[name]["tests"],
        "commit": tested,
        "check_bodies": check_bodies,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.monotonic() - started),
        **score(work),
    }
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    stats = result["stats"]
    print(f"{name}: killed {stats['killed']} / {stats['total']}, survived {stats['survived']} ({result['seconds']} s)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="modules of bench/mutation/modules.toml")
    parser.add_argument("--all", action="store_true", help="every module of modules.toml, smallest first")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument(
        "--no-check-bodies",
        action="store_true",
        help="leave @check functions decorated (unmutated), as runs before check bodies were mutated did",
    )
    arguments = parser.parse_args()
    names = list(MODULES) if arguments.all else arguments.modules
    unknown = [name for name in names if name not in MODULES]
    if unknown or not names:
        parser.error(f"name modules of modules.toml (or --all): {', '.join(MODULES)}")
    for name in names:
        run(name, arguments.max_children, not arguments.no_check_bodies)


if __name__ == "__main__":
    main()
