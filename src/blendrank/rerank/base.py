"""The reranker contract: a model implements one method, ``score(query, texts)``;
the base class does input validation, caching, top-k and result objects.

>>> class LengthReranker(Reranker):          # toy model: longer text, higher score
...     name = "length"
...     def score(self, query, texts):
...         return np.array([len(t) for t in texts], dtype=np.float32)
>>> rf = LengthReranker()
>>> [(r.index, r.text) for r in rf("q", ["a", "abc", "ab"], top_k=2)]
[(1, 'abc'), (2, 'ab')]
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from blendrank._unicode import require_unicode
from blendrank.errors import InvalidInputError
from blendrank.types import Document, Hit, RerankResult

DocumentLike = str | Document | Hit | Mapping[str, Any]


class ScoreCache(Protocol):
    """Where a reranker keeps scores it has computed, keyed by (fingerprint, query, text hash)."""

    def get_many(self, keys: Sequence[str]) -> list[float | None]: ...

    def put_many(self, keys: Sequence[str], scores: Sequence[float]) -> None: ...


class RerankResults(list[RerankResult]):
    """A plain list of :class:`RerankResult` (as pymilvus returns) with an ``info`` dict
    saying what happened: documents split into windows, cache hits, skipped model, ..."""

    def __init__(self, results: Sequence[RerankResult] = (), info: dict[str, Any] | None = None):
        super().__init__(results)
        self.info: dict[str, Any] = dict(info or {})


def cache_key(fingerprint: str, query: str, text: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in (fingerprint, query, text):
        data = part.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def document_fields(doc: DocumentLike, position: int) -> tuple[str, str | None, dict[str, Any]]:
    """(text, id, metadata) of one input document, whatever its form."""
    if isinstance(doc, str):
        return doc, None, {}
    if isinstance(doc, Hit):
        return doc.text, doc.id, dict(doc.metadata)
    if isinstance(doc, Document):
        text = f"{doc.title}\n{doc.text}" if doc.title else doc.text
        return text, doc.id, dict(doc.metadata)
    if isinstance(doc, Mapping):
        raw_text = doc.get("text")
        if not isinstance(raw_text, str):
            raise InvalidInputError(
                f"documents[{position}] is a mapping without a string 'text' key; "
                "pass {'text': '...'} or a plain string"
            )
        raw_id = doc.get("id", doc.get("_id"))
        metadata = doc.get("metadata") or {}
        return raw_text, None if raw_id is None else str(raw_id), dict(metadata)
    raise InvalidInputError(
        f"documents[{position}] must be a string, Document, Hit or mapping with 'text'; "
        f"got {type(doc).__name__}"
    )


def validate_query(query: object) -> str:
    if not isinstance(query, str):
        raise InvalidInputError(f"query must be a string, got {type(query).__name__}")
    if not query.strip():
        raise InvalidInputError("query is empty; pass the question to rank documents for")
    return require_unicode(query, "query")


def validate_top_k(top_k: int | None, n: int) -> int:
    if top_k is None:
        return n
    if isinstance(top_k, bool) or not isinstance(top_k, int):
        raise InvalidInputError(f"top_k must be an integer, got {top_k!r}")
    if top_k < 1:
        raise InvalidInputError(f"top_k must be >= 1, got {top_k}")
    if top_k > n:
        raise InvalidInputError(
            f"top_k={top_k} is larger than the number of documents ({n}); "
            f"pass top_k <= {n} or None for all"
        )
    return top_k


def ranked_order(scores: np.ndarray) -> np.ndarray:
    """Indices by score descending; ties keep input order (deterministic)."""
    return np.lexsort((np.arange(len(scores)), -np.asarray(scores, dtype=np.float64)))


class Reranker(ABC):
    """Base class of every reranker. Subclasses implement :meth:`score` only.

    ``rf(query, documents, top_k)`` returns :class:`RerankResults`, sorted by score
    (ties by input position), never mutating ``documents``.
    """

    name: str = "reranker"

    def __init__(self, *, cache: ScoreCache | None = None) -> None:
        self.cache = cache

    @abstractmethod
    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Relevance scores of ``texts`` for ``query`` (higher is better), shape (len(texts),)."""

    @property
    def fingerprint(self) -> str:
        """Identifies the model and every setting that changes scores (the cache key uses it)."""
        return f"{type(self).__module__}.{type(self).__qualname__}:{self.name}"

    def config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "name": self.name}

    def last_info(self) -> dict[str, Any]:
        """Extra facts about the latest :meth:`score` call (e.g. documents split); override."""
        return {}

    def cached_score(self, query: str, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Scores through the cache when one is set; returns (scores, cache hits)."""
        if self.cache is None or not texts:
            return np.asarray(self.score(query, texts), dtype=np.float32), 0
        keys = [cache_key(self.fingerprint, query, t) for t in texts]
        found = self.cache.get_many(keys)
        missing = [i for i, s in enumerate(found) if s is None]
        scores = np.array([0.0 if s is None else s for s in found], dtype=np.float32)
        if missing:
            fresh = np.asarray(self.score(query, [texts[i] for i in missing]), dtype=np.float32)
            scores[missing] = fresh
            self.cache.put_many([keys[i] for i in missing], fresh.tolist())
        return scores, len(texts) - len(missing)

    def rerank(
        self, query: str, documents: Sequence[DocumentLike], top_k: int | None = None
    ) -> RerankResults:
        query = validate_query(query)
        if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
            raise InvalidInputError("documents must be a list of strings, Documents or Hits")
        if len(documents) == 0:
            raise InvalidInputError("documents is empty; pass at least one document to rerank")
        fields = [document_fields(d, i) for i, d in enumerate(documents)]
        k = validate_top_k(top_k, len(fields))
        texts = [f[0] for f in fields]
        for position, text in enumerate(texts):
            require_unicode(text, f"documents[{position}]")
        scores, hits = self.cached_score(query, texts)
        if scores.shape != (len(texts),):
            raise RuntimeError(
                f"{type(self).__name__}.score returned shape {scores.shape} for {len(texts)} texts"
            )
        order = ranked_order(scores)[:k]
        results = [
            RerankResult(
                text=texts[i],
                score=float(scores[i]),
                index=int(i),
                id=fields[i][1],
                metadata=fields[i][2],
            )
            for i in order
        ]
        info = {"reranker": self.name, "documents": len(texts), "cache_hits": hits}
        info.update(self.last_info())
        return RerankResults(results, info)

    def __call__(
        self, query: str, documents: Sequence[DocumentLike], top_k: int | None = None
    ) -> RerankResults:
        return self.rerank(query, documents, top_k)

    def rerank_hits(self, query: str, hits: Sequence[Hit], top_k: int | None = None) -> list[Hit]:
        """Rerank search hits; each returned hit keeps its first-stage scores and adds
        ``scores["rerank"]``; ``score`` becomes the reranker's score."""
        if not hits:
            return []
        results = self.rerank(query, hits, min(top_k or len(hits), len(hits)))
        out = []
        for rank, r in enumerate(results, start=1):
            hit = hits[r.index]
            out.append(
                replace(
                    hit,
                    score=r.score,
                    scores={**hit.scores, "rerank": r.score},
                    ranks={**hit.ranks, "rerank": rank},
                )
            )
        return out
