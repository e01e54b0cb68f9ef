"""The task's containers as ECS orders them: essential containers, dependsOn names, cycles, start order."""

from __future__ import annotations

from typing import Any

from snailtrail.plan import container_graph


def container(name: str, essential: bool = True, **depends: str) -> dict[str, Any]:
    return {
        "name": name,
        "essential": essential,
        "dependsOn": [{"containerName": n, "condition": c} for n, c in depends.items()],
    }


def test_a_well_formed_task_has_no_problems_and_starts_dependencies_first() -> None:
    task = [container("app", models="SUCCESS", agent="START"), container("models", False), container("agent")]
    assert container_graph.problems(task) == []
    order = container_graph.start_order(task)
    assert order.index("models") < order.index("app") and order.index("agent") < order.index("app")


def test_each_problem_is_named() -> None:
    assert container_graph.problems([container("app", False)]) == ["no container is essential: ECS needs at least one"]
    assert container_graph.problems([container("app", sidecar="START")]) == [
        "app depends on sidecar, which is not a container of the task"
    ]
    assert container_graph.problems(
        [container("app", b="START"), container("b", c="START"), container("c", b="HEALTHY")]
    ) == ["dependsOn has a cycle: b -> c -> b"]
    assert container_graph.problems([container("app", b="SUCCESS"), container("b")]) == [
        "app waits for b to SUCCESS, but b is essential: it must not exit"
    ]


def test_a_container_without_essential_is_essential_as_in_ecs() -> None:
    assert container_graph.essential({"name": "app"})
    assert not container_graph.essential({"name": "app", "essential": False})
