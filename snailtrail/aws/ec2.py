"""Resolving the network names a configuration uses into ids, inside the service's VPC, and reading the
network verify judges: security groups, subnets, route tables and VPC endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from snailtrail.aws.session import AwsClients
from snailtrail.errors import ConfigError


class Ec2Api:
    def __init__(self, clients: AwsClients, service_vpc: Callable[[], str | None] = lambda: None) -> None:
        """``service_vpc`` answers the VPC Name tags are looked up in (the load balancer's), asked
        only when a name needs resolving; None: the VPC of the first subnet given by id, else all."""
        self._ec2 = clients.client("ec2")
        self._service_vpc = service_vpc

    def _vpc(self, names: list[str]) -> str | None:
        vpc = self._service_vpc()
        if vpc is not None:
            return vpc
        subnet_ids = [n for n in names if n.startswith("subnet-")]
        if subnet_ids:
            return self.subnets(subnet_ids[:1])[0]["VpcId"]
        return None

    def _resolve(self, names: list[str], prefix: str, describe: str, key: str, id_key: str) -> list[str]:
        wanted = [n for n in names if not n.startswith(prefix)]
        if not wanted:
            return names
        kind = key[:-1].lower()
        vpc = self._vpc(names)
        filters = [{"Name": "tag:Name", "Values": wanted}] + ([{"Name": "vpc-id", "Values": [vpc]}] if vpc else [])
        pages = self._ec2.get_paginator(describe).paginate(Filters=filters)
        by_name: dict[str, list[tuple[str, str]]] = {}  # Name -> (id, VPC) of each tagged resource
        for item in (item for page in pages for item in page[key]):
            for tag in item.get("Tags", []):
                if tag["Key"] == "Name":
                    by_name.setdefault(tag["Value"], []).append((item[id_key], item["VpcId"]))
        where = f"VPC {vpc}" if vpc else "this account and region"
        missing = [n for n in wanted if n not in by_name]
        if missing:
            raise ConfigError(
                f"no {kind} tagged Name={', '.join(missing)} in {where}",
                fix="use the resource id, or create it (the sandbox provisions these on `sandbox up`)",
            )
        duplicates = {n: found for n, found in by_name.items() if len(found) > 1}
        if duplicates:
            raise ConfigError(
                "; ".join(
                    f"{len(found)} {kind}s tagged Name={n} in {where}: " + ", ".join(f"{i} ({v})" for i, v in found)
                    for n, found in duplicates.items()
                ),
                fix=f"name the {kind} by its id in service.network, or give the others another Name tag",
            )
        resolved = {n: found[0][0] for n, found in by_name.items()}
        return [resolved.get(n, n) for n in names]

    def subnet_ids(self, names: list[str]) -> list[str]:
        return self._resolve(names, "subnet-", "describe_subnets", "Subnets", "SubnetId")

    def security_group_ids(self, names: list[str]) -> list[str]:
        return self._resolve(names, "sg-", "describe_security_groups", "SecurityGroups", "GroupId")

    def security_groups(self, ids: list[str]) -> list[dict[str, Any]]:
        return self._ec2.describe_security_groups(GroupIds=ids)["SecurityGroups"]

    def subnets(self, ids: list[str]) -> list[dict[str, Any]]:
        return self._ec2.describe_subnets(SubnetIds=ids)["Subnets"]

    def route_tables(self, vpc_id: str) -> list[dict[str, Any]]:
        return self._ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]

    def vpc_endpoints(self, vpc_id: str) -> list[dict[str, Any]]:
        return self._ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
