"""Settings of the HTTP service, validated once (``blendrank serve`` builds one from its flags).

>>> ServiceConfig(max_batch_pairs=64).batching
True
>>> ServiceConfig(max_documents=0)
Traceback (most recent call last):
...
blendrank.errors.InvalidInputError: max_documents must be an integer >= 1, got 0
"""

from __future__ import annotations

from dataclasses import dataclass, field

from blendrank.errors import InvalidInputError


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_seconds(name: str, value: object, minimum: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= minimum:
        raise InvalidInputError(f"{name} must be a number >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class ServiceConfig:
    """Limits, batching and timeouts of one server.

    ``max_documents``: documents per rerank request (and per bulk write);
    ``max_document_chars``: characters per document (and per query);
    ``max_body_bytes``: request body size; ``max_request_tokens``: model work one request
    may ask for, estimated as (query + document characters) / 4 summed over the documents
    (the default, 400,000, is about 30 s of a MiniLM-sized cross-encoder on two cores).
    Each breach is a 413 naming the limit.
    ``batching``: merge concurrent cross-encoder requests into one model call, up to
    ``max_batch_pairs`` (query, document) pairs, waiting at most ``max_wait_ms`` for more
    requests once one has arrived; off, each request is one model call.
    ``max_queue_pairs``: pairs waiting per model before new requests get 429.
    ``request_timeout_s``: how long a request may wait for its scores (then 504).
    ``header_timeout_s``: how long a connection may take to send a request's headers
    (then it is closed); ``body_timeout_s``: how long to send its body (then 408).
    ``api_keys``: when non-empty, every endpoint but ``/health`` needs
    ``Authorization: Bearer <key>``.
    """

    api_keys: tuple[str, ...] = field(default=(), repr=False)
    max_documents: int = 1000
    max_document_chars: int = 100_000
    max_body_bytes: int = 16 * 2**20
    max_request_tokens: int = 400_000
    batching: bool = True
    max_batch_pairs: int = 256
    max_wait_ms: float = 5.0
    max_queue_pairs: int = 16_384
    request_timeout_s: float = 30.0
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    shutdown_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.api_keys, str) or not all(
            isinstance(k, str) and k for k in self.api_keys
        ):
            raise InvalidInputError("api_keys must be a tuple of non-empty strings")
        object.__setattr__(self, "api_keys", tuple(self.api_keys))
        for name, minimum in (
            ("max_documents", 1),
            ("max_document_chars", 1),
            ("max_body_bytes", 1024),
            ("max_request_tokens", 1),
            ("max_batch_pairs", 1),
            ("max_queue_pairs", 1),
        ):
            _check_int(name, getattr(self, name), minimum)
        _check_seconds("max_wait_ms", self.max_wait_ms, 0.0)
        _check_seconds("request_timeout_s", self.request_timeout_s, 0.001)
        _check_seconds("header_timeout_s", self.header_timeout_s, 0.001)
        _check_seconds("body_timeout_s", self.body_timeout_s, 0.001)
        _check_seconds("shutdown_timeout_s", self.shutdown_timeout_s, 0.0)
        if self.max_queue_pairs < self.max_documents:
            raise InvalidInputError(
                f"max_queue_pairs ({self.max_queue_pairs}) must be >= max_documents "
                f"({self.max_documents}), or a request of max_documents could never be queued"
            )
