"""Run a console script with every AWS HTTP request it sends logged, one JSON line each.

    PYTHON bench/compare/count_calls.py LOGFILE DISTRIBUTION SCRIPT [ARGS...]

e.g. `.venv/bin/python bench/compare/count_calls.py calls.jsonl snailtrail snailtrail deploy ...` or
`.venv-bench/bin/python bench/compare/count_calls.py calls.jsonl ecs-deploy ecs deploy shine shine ...`.

The same counter for both tools: botocore's `before-send` event fires once per HTTP attempt
(retries included) on every botocore session the process creates, so snailtrail (which reads its
endpoint from the sandbox state file) and ecs-deploy (boto3 with AWS_ENDPOINT_URL) are counted the
same way. Each line: {"t": unix time, "service": ..., "operation": ...}.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from importlib import metadata


def main() -> None:
    log_path, distribution, script, *args = sys.argv[1:]
    lock = threading.Lock()
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - open for the life of the process

    import botocore.session

    original = botocore.session.Session.__init__

    def record(request, event_name="", **kwargs):  # type: ignore[no-untyped-def]
        context = getattr(request, "context", {}) or {}
        operation = context.get("operation_name") or ""
        parts = event_name.split(".")  # before-send.<service>.<operation>
        service = parts[1] if len(parts) > 1 else ""
        operation = operation or (parts[2] if len(parts) > 2 else "")
        if not operation:  # query protocols (EC2/ELBv2): Action=... in the body
            body = request.body if isinstance(request.body, (bytes, str)) else b""
            text = body.decode() if isinstance(body, bytes) else body
            for part in text.split("&"):
                if part.startswith("Action="):
                    operation = part[7:]
        target = request.headers.get("X-Amz-Target")
        if not operation and target:
            operation = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
        with lock:
            log.write(
                json.dumps({"t": time.time(), "service": service, "operation": operation, "url": request.url}) + "\n"
            )

    def init(self, *a, **k):  # type: ignore[no-untyped-def]
        original(self, *a, **k)
        self.register("before-send", record)

    botocore.session.Session.__init__ = init  # type: ignore[method-assign]
    entry = next(e for e in metadata.distribution(distribution).entry_points if e.name == script)
    sys.argv = [script, *args]
    sys.exit(entry.load()())


if __name__ == "__main__":
    main()
