"""``python -m shine``: serve with gunicorn on $PORT with the phase's features."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from shine import __version__
from shine.config import ConfigError, Settings
from shine.logs import configure, make_handler

log = logging.getLogger("shine.server")


class _GunicornLogger(Logger):
    """gunicorn's own messages in the service's format (JSON in full)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.handlers[:] = [make_handler(Settings.from_env().log_format)]


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            # Skip settings this gunicorn version does not know (e.g. the
            # control socket, new in 24) rather than failing to start.
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> Any:
        # Built inside each worker (no preload) so the ML loader thread runs
        # in the process that serves requests.
        from shine.app import create_app

        configure(self.settings.log_format, self.settings.log_level)
        return create_app(self.settings)


def main() -> int:
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"shine: configuration error: {exc}", file=sys.stderr)
        return 2
    configure(settings.log_format, settings.log_level)
    port = settings.port
    if settings.drill_wrong_port:
        # Rollback drill only (see docs/service.md): deliberately ignore $PORT.
        log.warning(
            "DRILL: SHINE_DRILL_WRONG_PORT set, ignoring PORT=%s and listening on %s",
            settings.port,
            settings.drill_wrong_port,
        )
        port = settings.drill_wrong_port
    if settings.drill_fail_requests:
        # Canary drill only (see docs/service.md): said at start, as the wrong-port drill is.
        log.warning("DRILL: SHINE_DRILL_FAIL_REQUESTS set, answering 500 to every request but /health")
    options = {
        "bind": f"0.0.0.0:{port}",
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_class": "gthread",
        "timeout": settings.timeout,
        "graceful_timeout": 10,
        "accesslog": None,  # the app logs each request with its request id
        "errorlog": "-",
        "logger_class": _GunicornLogger,
        # No control socket: it wants a writable home, which the non-root
        # user of the full image does not have, and nothing here uses it.
        "control_socket_disable": True,
        "loglevel": settings.log_level.lower(),
        # Heartbeat files on tmpfs: a slow overlay disk must not look like a hung worker.
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
        "limit_request_line": 4094,
        "limit_request_fields": 50,
    }
    log.info(
        "shine %s phase=%s features=%s port=%s",
        __version__,
        settings.phase,
        ",".join(sorted(settings.features)) or "-",
        port,
    )
    _Server(settings, options).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
