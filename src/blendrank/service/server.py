"""Run the app with uvicorn: JSON log lines, graceful shutdown.

On SIGTERM or SIGINT uvicorn stops accepting connections, lets in-flight requests finish
(up to ``shutdown_timeout`` seconds), then the app's lifespan drains the micro-batchers and
waits for the write in progress.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from blendrank._optional import require


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's ``fields``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr for blendrank's and uvicorn's loggers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("blendrank", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


def run(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    log_level: str = "info",
    shutdown_timeout: float = 30.0,
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM, then shut down gracefully."""
    uvicorn = require("uvicorn", "serve", "running the HTTP service")
    configure_logging(log_level)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        log_level=log_level,
        access_log=False,  # the app logs one JSON line per request itself
        server_header=False,
        timeout_graceful_shutdown=shutdown_timeout,
    )
    uvicorn.Server(config).run()
