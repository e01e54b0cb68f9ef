"""The ECR reads verify and doctor make: an image by digest, a repository by name; nothing here decides."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from snailtrail.aws.missing import none_if_missing
from snailtrail.aws.session import AwsClients

# An ECR registry's hosts: ACCOUNT.dkr.ecr.REGION.amazonaws.com (amazonaws.com.cn in China), the FIPS
# ACCOUNT.dkr.ecr-fips.REGION.amazonaws.com, and the dual-stack ACCOUNT.dkr-ecr[-fips].REGION.on.aws.
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-requests.html
ECR_HOST = re.compile(
    r"^(?P<registry_id>\d{12})\.dkr[.-]ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)"
    r"\.(?:amazonaws\.com(?:\.cn)?|on\.aws)$"
)


@dataclass(frozen=True)
class EcrRegistry:
    registry_id: str
    region: str


def ecr_registry(reference: str) -> EcrRegistry | None:
    """The ECR registry (account and region) of an image reference or registry host; None for any other."""
    match = ECR_HOST.match(reference.split("/", 1)[0])
    return EcrRegistry(match["registry_id"], match["region"]) if match else None


class EcrApi:
    """``region``: the registry's, where it is not the environment's (an image kept in another region)."""

    def __init__(self, clients: AwsClients, region: str | None = None) -> None:
        self._ecr = clients.client("ecr", region)

    def image_error(self, registry_id: str, repository: str, digest: str) -> str | None:
        """The error code ECR answers for the image (ImageNotFoundException, RepositoryNotFoundException,
        a refusal...), or None when it is there."""
        try:
            # The image's own registry (its account): without registryId, ECR looks in the caller's account,
            # and an image shared from another account would be reported missing.
            self._ecr.describe_images(
                registryId=registry_id, repositoryName=repository, imageIds=[{"imageDigest": digest}]
            )
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        return None

    def digest_of(self, registry_id: str, repository: str, tag: str) -> str | None:
        """The digest of the image ECR holds under ``tag``, or None when there is none (or no repository)."""
        try:
            details = self._ecr.describe_images(
                registryId=registry_id, repositoryName=repository, imageIds=[{"imageTag": tag}]
            )["imageDetails"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("ImageNotFoundException", "RepositoryNotFoundException"):
                return None
            raise
        return str(details[0]["imageDigest"]) if details else None

    def repository(self, name: str) -> dict[str, Any] | None:
        """The caller's repository, or None when it does not exist; a refusal is raised."""
        return none_if_missing(
            "RepositoryNotFoundException",
            lambda: self._ecr.describe_repositories(repositoryNames=[name])["repositories"][0],
        )
