"""The containers of one task definition as ECS orders them: essential containers and ``dependsOn``.

Read in the API's own shape (``containerDefinitions``), so the phase manifest's validation, verify's
check and the sandbox's refusals and start order all judge one graph the same way.
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDependency.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CONDITIONS = ("START", "COMPLETE", "SUCCESS", "HEALTHY")
# COMPLETE and SUCCESS wait for the container to exit, which an essential container may not do without
# stopping the task (API_ContainerDependency: "This condition can't be set on an essential container").
EXIT_CONDITIONS = ("COMPLETE", "SUCCESS")

Containers = Sequence[Mapping[str, Any]]


def essential(container: Mapping[str, Any]) -> bool:
    """ECS's default: a container is essential unless it says otherwise (ContainerDefinition.essential)."""
    return container.get("essential", True) is not False


def dependencies(container: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(container name, condition) for each of its ``dependsOn`` entries."""
    return [(str(d.get("containerName")), str(d.get("condition"))) for d in container.get("dependsOn") or []]


def unknown_dependency(containers: Containers) -> tuple[str, str] | None:
    """(container, the name it depends on) for the first dependsOn naming no container of the task."""
    names = {c.get("name") for c in containers}
    for container in containers:
        for name, _condition in dependencies(container):
            if name not in names:
                return str(container.get("name")), name
    return None


def cycle(containers: Containers) -> list[str] | None:
    """The names along the first dependsOn cycle (first name repeated at the end), or None."""
    graph = {str(c.get("name")): [n for n, _ in dependencies(c)] for c in containers}
    state: dict[str, str] = {}  # name -> "open" while on the path, "done" once explored

    def visit(name: str, path: list[str]) -> list[str] | None:
        if state.get(name) == "open":
            return [*path[path.index(name) :], name]
        if state.get(name) == "done" or name not in graph:
            return None
        state[name] = "open"
        for needed in graph[name]:
            found = visit(needed, [*path, name])
            if found is not None:
                return found
        state[name] = "done"
        return None

    for name in graph:
        found = visit(name, [])
        if found is not None:
            return found
    return None


def exit_condition_on_essential(containers: Containers) -> tuple[str, str, str] | None:
    """(container, essential dependency, condition) where COMPLETE or SUCCESS names an essential container."""
    by_name = {c.get("name"): c for c in containers}
    for container in containers:
        for name, condition in dependencies(container):
            if condition in EXIT_CONDITIONS and name in by_name and essential(by_name[name]):
                return str(container.get("name")), name, condition
    return None


def problems(containers: Containers) -> list[str]:
    """What is wrong with the task's containers as a whole, in plain words (empty: nothing)."""
    found = []
    if not any(essential(c) for c in containers):
        found.append("no container is essential: ECS needs at least one")
    unknown = unknown_dependency(containers)
    if unknown is not None:
        found.append(f"{unknown[0]} depends on {unknown[1]}, which is not a container of the task")
    loop = cycle(containers)
    if loop is not None:
        found.append(f"dependsOn has a cycle: {' -> '.join(loop)}")
    bad = exit_condition_on_essential(containers)
    if bad is not None:
        found.append(f"{bad[0]} waits for {bad[1]} to {bad[2]}, but {bad[1]} is essential: it must not exit")
    for container in containers:
        for name, condition in dependencies(container):
            if condition not in CONDITIONS:
                found.append(f"{container.get('name')} depends on {name} with {condition!r}, not one of {CONDITIONS}")
    return found


def start_order(containers: Containers) -> list[str]:
    """The names in an order where each container comes after those it depends on (the task's own order
    otherwise). Assumes ``problems`` found none."""
    ordered: list[str] = []
    pending = [str(c.get("name")) for c in containers]
    needs = {str(c.get("name")): {n for n, _ in dependencies(c)} for c in containers}
    while pending:
        ready = next(n for n in pending if needs[n] <= set(ordered))
        ordered.append(ready)
        pending.remove(ready)
    return ordered
