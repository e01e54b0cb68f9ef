"""The reconciler's side of a native service deployment: the tasks, groups and rules a ``Driver`` acts on.

Which target group the new revision goes to: the one of the service's two (loadBalancers[].targetGroupArn and
advancedConfiguration.alternateTargetGroupArn) that carries no production traffic on the production listener
rule when the deployment starts; the old revision keeps the other. So successive deployments alternate between
the two groups, the rule ending each successful one with all weight on the new revision's group (AWS docs,
"Application Load Balancer resources for Amazon ECS blue/green deployments": "Amazon ECS automatically
registers tasks with the appropriate target group based on the deployment stage").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from moto.ecs.models import Service

from snailtrail.sandbox import moto_bridge as bridge
from snailtrail.sandbox import moto_deployments
from snailtrail.sandbox.native_deployments import STAGES, Driver, ServiceDeployment
from snailtrail.sandbox.tracked_task import TrackedTask


class TaskStopper(Protocol):
    """What the driver needs of the reconciler: its sandbox minute and a way to stop a task (a Protocol, so this
    module does not import the reconciler that imports it)."""

    minute_s: float

    def _stop_task(self, service: Service, tracked: TrackedTask, reason: str, drain_s: float) -> Any: ...


def _advanced(service: Service) -> dict[str, Any]:
    entries = service.load_balancers or [{}]
    return dict(entries[0].get("advancedConfiguration") or {})


class NativeWorld:
    def __init__(
        self,
        reconciler: TaskStopper,
        service: Service,
        primary: dict[str, Any],
        deployment: ServiceDeployment,
        live: list[TrackedTask],
    ) -> None:
        self.reconciler, self.service, self.primary, self.d, self.live = reconciler, service, primary, deployment, live
        advanced = _advanced(service)
        self.production_rule = advanced.get("productionListenerRule")
        self.test_rule = advanced.get("testListenerRule")

    @staticmethod
    def scaling(deployment: ServiceDeployment) -> bool:
        """Whether the new revision's tasks run now: from SCALE_UP on, until a rollback."""
        stage = deployment.stage
        return deployment.status == "IN_PROGRESS" and stage is not None and STAGES.index(stage) >= 2

    @staticmethod
    def group_for(service: Service, entry: dict[str, Any], deployment_id: str, native: ServiceDeployment | None) -> str:
        primary = next((d for d in service.deployments if d["status"] == "PRIMARY"), None)
        if native is not None and native.new_group and primary is not None and primary["id"] == deployment_id:
            return native.new_group
        return getattr(service, "live_target_group", None) or entry["targetGroupArn"]

    def assign_groups(self) -> None:
        entry = self.service.load_balancers[0]
        groups = [entry["targetGroupArn"], _advanced(self.service)["alternateTargetGroupArn"]]
        weights = moto_deployments.rule_weights(self.service, self.production_rule) if self.production_rule else {}
        serving = [g for g in groups if weights.get(g, 0) > 0] or [groups[0]]
        self.d.old_group = serving[0]
        self.d.new_group = next(g for g in groups if g != self.d.old_group)

    def _new(self) -> list[TrackedTask]:
        return [t for t in self.live if t.deployment_id == self.primary["id"] and t.task.last_status != "STOPPED"]

    def _old(self) -> list[TrackedTask]:
        return [t for t in self.live if t.deployment_id != self.primary["id"] and t.task.last_status != "STOPPED"]

    def new_tasks_ready(self) -> bool:
        ready = [t for t in self._new() if t.task.last_status == "RUNNING" and t.healthy]
        return len(ready) >= self.service.desired_count

    def _move(self, rule: str | None, new_percent: float) -> None:
        if rule is None or self.d.old_group is None or self.d.new_group is None:
            return
        new = round(new_percent)
        moto_deployments.set_rule_weights(self.service, rule, {self.d.old_group: 100 - new, self.d.new_group: new})

    def set_production(self, new_percent: float) -> None:
        self._move(self.production_rule, new_percent)

    def set_test(self, new_percent: float) -> None:
        self._move(self.test_rule, new_percent)

    def _stop(self, tasks: list[TrackedTask], reason: str) -> bool:
        for tracked in tasks:
            if tracked.draining_until is None:
                self.reconciler._stop_task(self.service, tracked, reason, 0)
        return not [t for t in tasks if t.task.last_status != "STOPPED"]

    def stop_old_tasks(self) -> bool:
        return self._stop(self._old(), f"Scaling activity initiated by (deployment {self.primary['id']})")

    def stop_new_tasks(self) -> bool:
        return self._stop(self._new(), f"Scaling activity initiated by (deployment {self.primary['id']})")

    def alarms_in_alarm(self, names: list[str]) -> list[str]:
        return moto_deployments.alarms_in_alarm(self.service, names)


def drive(
    reconciler: TaskStopper,
    service: Service,
    primary: dict[str, Any],
    deployment: ServiceDeployment,
    live: list[TrackedTask],
) -> None:
    """One pass of a native deployment; once it ends, ECS's deployments say what runs. The service events are
    the ones ECS writes for its deployments (the reconciler's wording for rolling ones)."""
    world = NativeWorld(reconciler, service, primary, deployment, live)
    if deployment.new_group is None:
        world.assign_groups()
    rolling_back = deployment.status == "ROLLBACK_IN_PROGRESS"  # its event written already
    Driver(deployment, world, datetime.now(UTC), reconciler.minute_s).advance()
    previous = next((d for d in service.deployments if d["status"] == "ACTIVE"), None)
    if not rolling_back and deployment.status in ("ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL") and previous:
        bridge.add_event(service, f"rolling back to deployment {previous['id']}.")
    if deployment.status == "SUCCESSFUL":
        service.live_target_group = deployment.new_group
        service.deployments[:] = [primary]
        primary["rolloutState"] = "COMPLETED"
        primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
        primary["updatedAt"] = bridge.now()
        bridge.add_event(service, f"deployment {primary['id']} deployment completed.")
        bridge.add_event(service, "has reached a steady state.")
    elif deployment.status == "ROLLBACK_SUCCESSFUL":
        if previous is not None:
            service.task_definition = previous["taskDefinition"]
            previous["status"] = "PRIMARY"
            service.deployments[:] = [previous]
            primary["rolloutState"] = "FAILED"
        bridge.add_event(service, "has reached a steady state.")
