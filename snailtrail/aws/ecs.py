"""The ECS calls snailtrail makes; nothing here decides, it only asks and tells."""

from __future__ import annotations

from typing import Any

from snailtrail.aws.session import AwsClients

TAG_PHASE = "snailtrail:phase"
TAG_DIGEST = "snailtrail:image-digest"
TAG_REVISION = "snailtrail:git-revision"
TAG_FINGERPRINT = "snailtrail:fingerprint"
TAG_VERIFIED = "snailtrail:verified-at"


def tags_to_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["key"]: t["value"] for t in tags or []}


def dict_to_tags(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in values.items()]


# A service deployment ECS has not finished with (ListServiceDeployments' status filter).
IN_FLIGHT_STATUSES = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")


def primary_deployment(service: dict[str, Any]) -> dict[str, Any] | None:
    """The service's PRIMARY deployment (the one ECS is rolling out or holds), or None."""
    return next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), None)


class EcsApi:
    def __init__(self, clients: AwsClients, cluster: str) -> None:
        self._ecs = clients.client("ecs")
        self.cluster = cluster

    def describe_cluster(self) -> dict[str, Any] | None:
        found = self._ecs.describe_clusters(clusters=[self.cluster])["clusters"]
        return found[0] if found else None

    def describe_service(self, service: str) -> dict[str, Any] | None:
        """The service, or None when it (or its cluster) does not exist, or is INACTIVE (deleted)."""
        return self.describe_services([service])[service]

    def describe_services(self, names: list[str]) -> dict[str, dict[str, Any] | None]:
        """Up to ten services in one call, by name; None for each missing or INACTIVE one."""
        found: dict[str, dict[str, Any] | None] = dict.fromkeys(names)
        try:
            answer = self._ecs.describe_services(cluster=self.cluster, services=names)
        except self._ecs.exceptions.ClusterNotFoundException:
            return found
        for service in answer["services"]:
            if service.get("status") != "INACTIVE" and service.get("serviceName") in found:
                found[service["serviceName"]] = service
        return found

    def describe_task_definition(self, arn: str) -> tuple[dict[str, Any], dict[str, str]]:
        answer = self._ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        return answer["taskDefinition"], tags_to_dict(answer.get("tags"))

    def list_task_definitions(self, family: str) -> list[str]:
        arns: list[str] = []
        for page in self._ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, sort="DESC"):
            arns.extend(a for a in page["taskDefinitionArns"] if a.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family)
        return arns

    def register_task_definition(self, definition: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
        return self._ecs.register_task_definition(**definition, tags=dict_to_tags(tags))["taskDefinition"]

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        self._ecs.tag_resource(resourceArn=arn, tags=dict_to_tags(tags))

    def update_service(
        self,
        service: str,
        task_definition: str | None,
        desired_count: int,
        grace_period_s: int | None = None,
        **native: Any,
    ) -> dict[str, Any]:
        """Point the service at a revision (None keeps its own) with this many tasks; ``native`` carries a
        native deployment's deploymentConfiguration and loadBalancers (snailtrail/run/native_setup.py)."""
        extra: dict[str, Any] = dict(native)
        if grace_period_s is not None:
            extra["healthCheckGracePeriodSeconds"] = grace_period_s
        if task_definition is not None:
            extra["taskDefinition"] = task_definition
        return self._ecs.update_service(cluster=self.cluster, service=service, desiredCount=desired_count, **extra)[
            "service"
        ]

    def in_flight_deployments(self, service: str) -> list[dict[str, Any]]:
        """The service's deployments ECS has not finished with, newest first (briefs: arn, status, createdAt)."""
        answer = self._ecs.list_service_deployments(
            cluster=self.cluster, service=service, status=list(IN_FLIGHT_STATUSES)
        )
        return sorted(answer["serviceDeployments"], key=lambda d: d.get("createdAt") or 0, reverse=True)

    def service_deployment(self, arn: str) -> dict[str, Any] | None:
        """One service deployment: lifecycleStage, lifecycleHookDetails, status, rollback, ..."""
        found = self._ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
        return found[0] if found else None

    def continue_deployment(self, arn: str, hook_id: str, action: str) -> None:
        """Answer a PAUSE hook that is AWAITING_ACTION: CONTINUE or ROLLBACK."""
        self._ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook_id, action=action)

    def stop_deployment(self, arn: str) -> None:
        """Roll the service deployment back to the previous service revision, wherever it is."""
        self._ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")

    def create_service(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._ecs.create_service(cluster=self.cluster, **request)["service"]

    def service_tasks(self, service: str, statuses: tuple[str, ...] = ("RUNNING", "STOPPED")) -> list[dict[str, Any]]:
        """The service's tasks with these desired statuses (default: running and recently stopped).

        Filtered by ``group`` as well as the request's serviceName: a control plane that ignores
        serviceName (moto) must not make another service's tasks look like ours.
        """
        arns: list[str] = []
        for status in statuses:
            for page in self._ecs.get_paginator("list_tasks").paginate(
                cluster=self.cluster, serviceName=service, desiredStatus=status
            ):
                arns.extend(page["taskArns"])
        tasks: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(arns))
        for start in range(0, len(unique), 100):
            answer = self._ecs.describe_tasks(cluster=self.cluster, tasks=unique[start : start + 100])
            tasks.extend(t for t in answer["tasks"] if t.get("group") == f"service:{service}")
        return tasks

    def run_task(self, request: dict[str, Any]) -> dict[str, Any]:
        """RunTask in the cluster: the answer's ``tasks`` and ``failures`` (a task ECS could not place)."""
        return self._ecs.run_task(cluster=self.cluster, **request)

    def describe_task(self, arn: str) -> dict[str, Any] | None:
        found = self._ecs.describe_tasks(cluster=self.cluster, tasks=[arn])["tasks"]
        return found[0] if found else None

    def stop_task(self, arn: str, reason: str) -> None:
        """StopTask; ``reason`` becomes the task's stoppedReason (up to 255 characters, API reference)."""
        self._ecs.stop_task(cluster=self.cluster, task=arn, reason=reason[:255])
