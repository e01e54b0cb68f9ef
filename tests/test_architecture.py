"""The package's shape, as docs/architecture.md states it: imports flow one way, modules stay small, and the
AWS SDK, the Docker SDK, moto and the sandbox are reached only from the places named for them."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "snailtrail"
MAX_LINES = 450


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name, not ``__init__``)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported_names(path: Path) -> Iterator[str]:
    """Every absolute name a module imports, at the top or inside a function alike (both are dependencies)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (``from snailtrail.x import name`` counts as importing x)."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for imported in imported_names(path):
            while imported and imported not in known:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and imported != "snailtrail":
                graph[name].add(imported)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            successor = next(successors, None)
            if successor is not None:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                elif successor in on_stack:
                    low[node] = min(low[node], index[successor])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def importers_of(prefix: str) -> set[str]:
    """The package's modules outside ``prefix`` that import it (or a module below it)."""
    return {
        name
        for name, path in modules().items()
        if not (name == prefix or name.startswith(prefix + "."))
        and any(i == prefix or i.startswith(prefix + ".") for i in imported_names(path))
    }


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_over_450_lines(name: str) -> None:
    lines = modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines: split it by what its parts do"


def test_only_the_aws_session_makes_boto3_clients() -> None:
    assert importers_of("boto3") == {"snailtrail.aws.session"}


def test_moto_is_imported_by_the_sandbox_alone() -> None:
    # A production install has no moto (the `sandbox` extra brings it): nothing outside sandbox/ may need it.
    assert {name for name in importers_of("moto") if not name.startswith("snailtrail.sandbox.")} == set()


def test_the_docker_sdk_is_imported_by_the_image_steps_and_the_sandbox_alone() -> None:
    outside = {name for name in importers_of("docker") if not name.startswith("snailtrail.sandbox.")}
    assert outside == {"snailtrail.run.images"}


def test_the_sandbox_is_imported_only_by_what_starts_it_and_by_smoke() -> None:
    # global_options and `snailtrail sandbox` start and stop it; smoke runs a task's containers with its launcher.
    assert importers_of("snailtrail.sandbox") == {
        "snailtrail.global_options",
        "snailtrail.commands.sandbox",
        "snailtrail.run.smoke",
    }
