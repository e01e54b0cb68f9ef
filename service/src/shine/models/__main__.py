"""``python -m shine.models``: publish or check the model artifacts.

    python -m shine.models publish --bucket B [--prefix shine/models/] [--create-bucket]
    python -m shine.models verify
    python -m shine.models fetch          # resolve like the server would, print status

S3 endpoint, region and credentials come from the usual AWS variables
(AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, ...), read by boto3.
"""

from __future__ import annotations

import argparse
import json
import sys

from shine.config import Settings
from shine.models import ModelManager, bundled_dir, load_manifest, publish, sha256_of


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shine.models")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("publish", help="upload bundled artifacts + manifest to an S3 bucket")
    p.add_argument("--bucket", required=True)
    p.add_argument("--prefix", default=None, help="key prefix (default: $SHINE_MODEL_PREFIX or shine/models/)")
    p.add_argument("--create-bucket", action="store_true", help="create the bucket when it does not exist")
    sub.add_parser("verify", help="check bundled artifacts against the manifest")
    sub.add_parser("fetch", help="resolve artifacts from the configured sources into the cache")
    args = parser.parse_args(argv)

    if args.command == "publish":
        prefix = args.prefix if args.prefix is not None else Settings.from_env().model_prefix
        for key in publish(args.bucket, prefix, create_bucket=args.create_bucket):
            print(f"s3://{args.bucket}/{key}")
        return 0
    if args.command == "verify":
        bad = 0
        for art in load_manifest():
            digest = sha256_of(bundled_dir() / art.file)
            ok = digest == art.sha256
            bad += not ok
            print(f"{'ok ' if ok else 'BAD'} {art.name} {art.version} {digest}")
        return 1 if bad else 0
    manager = ModelManager(Settings.from_env())
    manager.load_all()
    report = {"s3": manager.s3, "models": [s.as_dict() for s in manager.status.values()]}
    print(json.dumps(report, indent=2))
    return 0 if all(s.available for s in manager.status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
