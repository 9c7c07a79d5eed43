"""The ASGI layer around every request: a request id, the body-size limit (enforced while
reading, before any parsing), per-request metrics, one JSON log line per request, and a
last-resort handler so an unexpected error is a JSON 500 without a stack trace (the trace
goes to the server log with the request id).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from blendrank.service.errors import error_body
from blendrank.service.metrics import ServiceMetrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("blendrank.service.access")
error_log = logging.getLogger("blendrank.service.error")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def send_json(send: Send, status: int, body: dict[str, Any], request_id: str) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class EdgeMiddleware:
    """Request id, body limit, metrics, access log and the last-resort 500 (see module)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: ServiceMetrics,
        body_timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            try:
                body, refusal = await asyncio.wait_for(
                    self._read_body(scope, receive), self.body_timeout
                )
            except TimeoutError:
                status = 408
                message = (
                    f"the request body did not arrive within {self.body_timeout:g} s "
                    "(--body-timeout); send it at once"
                )
                await send_json(
                    send, 408, error_body(408, message, "timeout", request_id), request_id
                )
                return
            if refusal is not None:
                status = 413
                await send_json(
                    send, 413, error_body(413, refusal, "payload_too_large", request_id), request_id
                )
                return
            await self.app(scope, receive if body is None else _replay(body, receive), send_wrapper)
        except Exception:
            error_log.exception("unhandled error in request %s", request_id)
            if not started:
                status = 500
                message = (
                    "internal server error; the server log has the details "
                    f"(request id {request_id})"
                )
                await send_json(
                    send, 500, error_body(500, message, "internal", request_id), request_id
                )
        finally:
            self.metrics.in_flight.dec()
            seconds = time.perf_counter() - start
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            self.metrics.request(scope["method"], label, status, seconds)
            access_log.info(
                "%s %s %s %.1f ms",
                scope["method"],
                scope["path"],
                status,
                seconds * 1000,
                extra={
                    "fields": {
                        "event": "request",
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": label,
                        "status": status,
                        "ms": round(seconds * 1000, 2),
                        "client": (scope.get("client") or ["?"])[0],
                    }
                },
            )

    async def _read_body(self, scope: Scope, receive: Receive) -> tuple[bytes | None, str | None]:
        """(the whole body, None), or (None, why it is refused); (None, None) for requests
        that carry no body."""
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return None, None
        limit = self.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return None, _too_big(int(declared), limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client disconnected
                return b"".join(chunks), None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None, _too_big(size, limit, at_least=True)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None


def _too_big(size: int, limit: int, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return (
        f"request body is {more}{size} bytes; this server accepts at most {limit} "
        "(--max-body-bytes): send fewer or shorter documents per request"
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive callable that yields the already-read body once, then the real stream
    (which can only say the client disconnected)."""
    done = False

    async def replay() -> Message:
        nonlocal done
        if not done:
            done = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
