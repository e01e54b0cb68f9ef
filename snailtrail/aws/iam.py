"""The IAM read verify and doctor make: a role by ARN; nothing here decides."""

from __future__ import annotations

from typing import Any

from snailtrail.aws.missing import none_if_missing
from snailtrail.aws.session import AwsClients


class IamApi:
    def __init__(self, clients: AwsClients) -> None:
        self._iam = clients.client("iam")

    def role(self, arn: str) -> dict[str, Any] | None:
        """The role (with its trust policy), or None when it does not exist; a refusal is raised."""
        # GetRole answers NoSuchEntity for a missing role (IAM API reference, GetRole errors).
        return none_if_missing("NoSuchEntity", lambda: self._iam.get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"])

    def policy_names(self, arn: str) -> list[str]:
        """The names of the role's managed policies (attached) and of its inline ones."""
        name = arn.rsplit("/", 1)[-1]
        attached = self._iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
        inline = self._iam.get_paginator("list_role_policies").paginate(RoleName=name)
        return [p["PolicyName"] for page in attached for p in page["AttachedPolicies"]] + [
            policy for page in inline for policy in page["PolicyNames"]
        ]
