"""The ECR reads verify and doctor make: an image by digest, a repository by name; nothing here decides."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from snailtrail.aws.missing import none_if_missing
from snailtrail.aws.session import AwsClients


class EcrApi:
    def __init__(self, clients: AwsClients) -> None:
        self._ecr = clients.client("ecr")

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

    def repository(self, name: str) -> dict[str, Any] | None:
        """The caller's repository, or None when it does not exist; a refusal is raised."""
        return none_if_missing(
            "RepositoryNotFoundException",
            lambda: self._ecr.describe_repositories(repositoryNames=[name])["repositories"][0],
        )
