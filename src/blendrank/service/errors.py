"""Errors the HTTP service answers with: a status, a message that says what to fix, a short
machine-readable type and optional headers (``Retry-After``). Plain Python, no web framework:
the app turns them into JSON bodies.

>>> error = ServiceError(413, "3 documents; at most 2 per request", error_type="too_large")
>>> error_body(error.status, error.message, error.error_type, "r1")["error_type"]
'too_large'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ServiceError(Exception):
    """An error response: ``status`` (4xx/5xx), ``message`` for the caller, ``error_type``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.headers = dict(headers or {})


def error_body(
    status: int, message: str, error_type: str, request_id: str | None
) -> dict[str, Any]:
    """The JSON body of every error. ``message`` is what Cohere clients read, ``error`` and
    ``error_type`` what TEI clients read; both carry the same text."""
    return {
        "message": message,
        "error": message,
        "error_type": error_type,
        "status": status,
        "request_id": request_id,
    }


def overloaded(what: str, retry_after: int) -> ServiceError:
    return ServiceError(
        429,
        f"{what}; retry after {retry_after} s",
        error_type="overloaded",
        headers={"Retry-After": str(retry_after)},
    )


def unavailable(message: str, retry_after: int | None = None) -> ServiceError:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return ServiceError(503, message, error_type="unavailable", headers=headers)


def too_large(message: str) -> ServiceError:
    return ServiceError(413, message, error_type="payload_too_large")


class Redactor:
    """Takes the server's own file system locations out of error messages: a client
    learns what to fix, not where the index, the model cache or the models live.

    >>> redact = Redactor({"/srv/kb": "<index folder>", "/root": "~"})
    >>> redact("index generation /srv/kb/gen-000002 is damaged")
    'index generation <index folder>/gen-000002 is damaged'
    """

    def __init__(self, places: Mapping[str, str]) -> None:
        # longest first, so a folder inside another is named by the more precise label
        self._places = sorted(
            ((str(p).rstrip("/"), label) for p, label in places.items() if str(p).strip("/")),
            key=lambda item: -len(item[0]),
        )

    def __call__(self, message: str) -> str:
        for place, label in self._places:
            message = message.replace(place, label)
        return message
