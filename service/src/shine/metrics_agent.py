"""``python -m shine.metrics_agent``: the metrics sidecar of the full phase.

It runs beside the app in the same task and reaches it over the task's localhost (awsvpc: one network
interface per task). Every ``SHINE_METRICS_INTERVAL_S`` seconds it scrapes the app's Prometheus
``/metrics`` and prints one CloudWatch Embedded Metric Format line: the awslogs driver ships it, and
CloudWatch Logs turns such lines into metrics without any API call from the task (the CloudWatch
agent's Prometheus support does the same). A scrape that fails is said on stderr; the agent keeps going.

    SHINE_METRICS_URL      default http://localhost:$PORT/metrics (PORT default 8000)
    SHINE_METRICS_INTERVAL_S  default 15
    SHINE_METRICS_NAMESPACE   default shine
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from typing import Any

# What the sidecar publishes: the app's request and analysis counts, its ML state.
PUBLISHED = {
    "shine_http_requests_total": "Requests",
    "shine_analysis_total": "Analyses",
    "shine_ml_degraded": "MLDegraded",
    "shine_ml_load_seconds": "MLLoadSeconds",
}


def scrape(url: str, timeout: float = 5.0) -> dict[str, float]:
    """The published metrics, each summed over its labels."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=timeout) as answer:
        text = answer.read().decode()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in PUBLISHED:
                name = PUBLISHED[sample.name]
                values[name] = values.get(name, 0.0) + float(sample.value)
    return values


def emf_line(values: dict[str, float], namespace: str, at_ms: int) -> str:
    """One Embedded Metric Format document (its ``_aws`` block names the metrics of the line)."""
    document: dict[str, Any] = {
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [
                {"Namespace": namespace, "Dimensions": [[]], "Metrics": [{"Name": name} for name in sorted(values)]}
            ],
        },
        **values,
    }
    return json.dumps(document, sort_keys=True)


def main(rounds: int | None = None) -> int:
    port = os.environ.get("PORT", "8000")
    url = os.environ.get("SHINE_METRICS_URL", f"http://localhost:{port}/metrics")
    interval = float(os.environ.get("SHINE_METRICS_INTERVAL_S", "15"))
    namespace = os.environ.get("SHINE_METRICS_NAMESPACE", "shine")
    done = 0
    while rounds is None or done < rounds:
        try:
            print(emf_line(scrape(url), namespace, int(time.time() * 1000)), flush=True)
        except (OSError, ValueError) as exc:
            print(f"metrics_agent: scrape of {url} failed: {exc}", file=sys.stderr, flush=True)
        done += 1
        if rounds is None or done < rounds:
            time.sleep(interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
