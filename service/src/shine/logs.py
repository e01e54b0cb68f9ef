"""Logging: plain text for humans, one JSON object per line for collectors.

Every record carries the current request id (or "-" outside a request), so a
CloudWatch/Loki query can follow one request through the service.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

# Attributes of every LogRecord; anything else was passed via ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}


def _request_id() -> str:
    try:
        from flask import g, has_request_context

        if has_request_context():
            return getattr(g, "request_id", "-")
    except ImportError:  # logging must work without Flask too
        pass
    return "-"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def make_handler(fmt: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    return handler


def configure(fmt: str, level: str) -> None:
    """Route the service's loggers through one handler in the chosen format."""
    logger = logging.getLogger("shine")
    logger.handlers[:] = [make_handler(fmt)]
    logger.setLevel(level)
    logger.propagate = False
