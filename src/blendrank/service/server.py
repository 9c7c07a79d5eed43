"""Run the app with uvicorn: JSON log lines, graceful shutdown.

On SIGTERM or SIGINT uvicorn stops accepting connections, lets in-flight requests finish
(up to ``shutdown_timeout`` seconds), then the app's lifespan drains the micro-batchers and
waits for the write in progress.
"""

from __future__ import annotations

import asyncio
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


def header_timeout_protocol(header_timeout: float) -> Any:
    """uvicorn's h11 protocol, closing a connection whose request headers have not all
    arrived ``header_timeout`` seconds after its first byte (or after the connection
    opened): a client trickling headers, or opening connections and sending nothing, can
    no longer hold them forever. uvicorn itself only times out idle keep-alive gaps."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutProtocol(H11Protocol):  # type: ignore[misc]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._header_timer: asyncio.TimerHandle | None = None
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._between_requests() and self._header_timer is None:
                self._arm()  # the first byte of the next request
            super().data_received(data)
            if not self._between_requests():
                self._disarm()  # its headers are in: the body has its own timeout

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._header_timer = self.loop.call_later(header_timeout, self._expire)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _expire(self) -> None:
            self._header_timer = None
            if self._between_requests() and not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol


def uvicorn_config(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    log_level: str = "info",
    shutdown_timeout: float = 30.0,
    header_timeout: float = 10.0,
) -> Any:
    """The uvicorn settings `blendrank serve` runs with (tests start servers with them too)."""
    uvicorn = require("uvicorn", "serve", "running the HTTP service")
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=header_timeout_protocol(header_timeout),
        log_config=None,
        log_level=log_level,
        access_log=False,  # the app logs one JSON line per request itself
        server_header=False,
        timeout_graceful_shutdown=shutdown_timeout,
    )


def run(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    log_level: str = "info",
    shutdown_timeout: float = 30.0,
    header_timeout: float = 10.0,
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM, then shut down gracefully."""
    uvicorn = require("uvicorn", "serve", "running the HTTP service")
    configure_logging(log_level)
    config = uvicorn_config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        shutdown_timeout=shutdown_timeout,
        header_timeout=header_timeout,
    )
    uvicorn.Server(config).run()
