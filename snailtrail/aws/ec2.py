"""Resolving the network names a configuration uses into ids."""

from __future__ import annotations

from snailtrail.aws.session import AwsClients
from snailtrail.errors import ConfigError


class Ec2Api:
    def __init__(self, clients: AwsClients) -> None:
        self._ec2 = clients.client("ec2")

    def _resolve(self, names: list[str], prefix: str, describe: str, key: str, id_key: str) -> list[str]:
        ids = [n for n in names if n.startswith(prefix)]
        wanted = [n for n in names if not n.startswith(prefix)]
        if wanted:
            answer = getattr(self._ec2, describe)(Filters=[{"Name": "tag:Name", "Values": wanted}])[key]
            by_name = {}
            for item in answer:
                for tag in item.get("Tags", []):
                    if tag["Key"] == "Name":
                        by_name[tag["Value"]] = item[id_key]
            missing = [n for n in wanted if n not in by_name]
            if missing:
                raise ConfigError(
                    f"no {key[:-1].lower()} tagged Name={', '.join(missing)} in this account and region",
                    fix="use the resource id, or create it (the sandbox provisions these on `sandbox up`)",
                )
            ids.extend(by_name[n] for n in wanted)
        return ids

    def subnet_ids(self, names: list[str]) -> list[str]:
        return self._resolve(names, "subnet-", "describe_subnets", "Subnets", "SubnetId")

    def security_group_ids(self, names: list[str]) -> list[str]:
        return self._resolve(names, "sg-", "describe_security_groups", "SecurityGroups", "GroupId")
