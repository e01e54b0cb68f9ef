"""The S3 read doctor makes: whether a bucket exists; nothing here decides."""

from __future__ import annotations

from botocore.exceptions import ClientError

from snailtrail.aws.session import AwsClients


class S3Api:
    def __init__(self, clients: AwsClients) -> None:
        self._s3 = clients.client("s3")

    def bucket_exists(self, name: str) -> bool:
        """HeadBucket: 404 is no such bucket; a refusal (403: another account's, or no s3:ListBucket) is raised.
        https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html"""
        try:
            self._s3.head_bucket(Bucket=name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound"):
                return False
            raise
        return True
