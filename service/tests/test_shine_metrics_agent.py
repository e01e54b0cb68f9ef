"""The metrics sidecar: the app's Prometheus metrics, scraped over localhost, as CloudWatch EMF lines."""

from __future__ import annotations

import json
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from shine.metrics_agent import main


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def test_each_round_prints_the_apps_counts_as_one_emf_line(make_app, monkeypatch, capsys):
    app = make_app(SHINE_PHASE="full")
    client = app.test_client()
    for _ in range(3):
        assert client.get("/health").status_code == 200
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("PORT", str(server.server_port))
        monkeypatch.setenv("SHINE_METRICS_INTERVAL_S", "0")
        assert main(rounds=2) == 0
    finally:
        server.shutdown()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    first = lines[0]
    assert first["Requests"] >= 3 and first["MLDegraded"] in (0.0, 1.0)
    [declared] = first["_aws"]["CloudWatchMetrics"]
    assert declared["Namespace"] == "shine" and {m["Name"] for m in declared["Metrics"]} == {
        "Requests",
        "Analyses",
        "MLDegraded",
        "MLLoadSeconds",
    } & set(first)


def test_a_failed_scrape_is_said_and_the_agent_keeps_going(monkeypatch, capsys):
    monkeypatch.setenv("SHINE_METRICS_URL", "http://127.0.0.1:9/metrics")
    monkeypatch.setenv("SHINE_METRICS_INTERVAL_S", "0")
    assert main(rounds=2) == 0
    assert capsys.readouterr().err.count("scrape of http://127.0.0.1:9/metrics failed") == 2


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
