"""Bi-encoder reranking: cosine similarity of the query's and each document's embedding.

Cheap (one forward pass per text, no cross-attention), so it suits a first stage in
:class:`~blendrank.rerank.combinators.cascade.CascadeReranker`. Stored vectors (e.g.
``Index.chunk_vectors``) can be scored without embedding the documents again.

>>> rf = BiEncoderReranker("all-MiniLM-L6-v2")
>>> rf("how do cats purr", ["Stock prices fell.", "Cats purr with their larynx."])[0].index
1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.rerank.base import (
    DocumentLike,
    Reranker,
    RerankResults,
    ScoreCache,
    candidates_of,
    check_candidates,
    reranked,
    results_of,
    validate_query,
    validate_top_k,
)
from blendrank.types import Hit, Query, Ranking

if TYPE_CHECKING:
    from blendrank.embed.base import Embedder

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"


def resolve_embedder(embedder: str | Mapping[str, Any] | Embedder) -> Embedder:
    """An Embedder from a spec for ``blendrank.embed.make_embedder`` (name, folder, URL,
    settings dict) or an Embedder instance (returned as is)."""
    from blendrank.embed import make_embedder

    if embedder is None:
        raise InvalidInputError("embedder is None; pass a model name or an Embedder")
    return make_embedder(embedder)


def checked_vectors(vectors: np.ndarray, rows: int | None = None) -> np.ndarray:
    """Stored document vectors as a finite numeric (n, dim) array, with ``rows`` rows when
    given (one row per document or hit, in order)."""
    matrix = np.asarray(vectors)
    if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.number):
        raise InvalidInputError(
            f"vectors must be a numeric 2-D array (n, dim), got shape {matrix.shape}"
        )
    if not np.isfinite(matrix).all():
        raise InvalidInputError("vectors contain NaN or infinite values")
    if rows is not None and matrix.shape[0] != rows:
        raise InvalidInputError(
            f"got {matrix.shape[0]} vectors for {rows} documents; pass one row per hit/document"
        )
    return matrix


def cosine_scores(query_vector: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of one query vector with each row of ``vectors``; a zero row
    scores 0. Pure: arrays in, array out.

    >>> cosine_scores(np.array([1.0, 0.0]), np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    array([1.        , 0.        , 0.70710678])
    """
    q = np.asarray(query_vector, dtype=np.float64)
    m = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(m, axis=1) * np.linalg.norm(q)
    dots = m @ q
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


class BiEncoderReranker(Reranker):
    """Scores = cosine(query embedding, document embedding), in [-1, 1].

    ``embedder`` is a model spec for ``blendrank.embed.make_embedder`` (default
    ``"all-MiniLM-L6-v2"``, bundled and offline; a folder, URL or settings dict also work)
    or an ``Embedder`` instance.
    """

    scale = "cosine"
    uses_vectors = True

    def __init__(
        self,
        embedder: str | Mapping[str, Any] | Embedder = DEFAULT_EMBEDDER,
        *,
        cache: ScoreCache | None = None,
    ) -> None:
        super().__init__(cache=cache)
        self.embedder = resolve_embedder(embedder)
        self.name = f"bi:{embedder if isinstance(embedder, str) else _label(self.embedder)}"

    @property
    def fingerprint(self) -> str:
        return f"bi-encoder:{self.embedder.fingerprint}"

    @property
    def vector_model(self) -> str:
        return str(self.embedder.fingerprint)

    def config(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "name": self.name}

    def query_vector(self, query: str) -> np.ndarray:
        """The query's unit vector, shape ``(dim,)``."""
        return self.embedder.embed_queries([query])[0]

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros(0, dtype=np.float32)
        documents = self.embedder.embed_documents(texts)
        return cosine_scores(self.query_vector(query), documents).astype(np.float32)

    def score_vectors(self, query: str, vectors: np.ndarray) -> np.ndarray:
        """Cosine of the query with precomputed document vectors ``(n, dim)`` — e.g.
        ``index.chunk_vectors(ids)`` — without embedding any document. The vectors must
        come from the same embedder, or the scores mean nothing."""
        matrix = checked_vectors(vectors)
        q = self.query_vector(query)
        if matrix.shape[0] and matrix.shape[1] != q.shape[0]:
            raise InvalidInputError(
                f"vectors have dimension {matrix.shape[1]} but the embedder makes "
                f"{q.shape[0]}-dimensional vectors; pass vectors from the same model"
            )
        return cosine_scores(q, matrix).astype(np.float32)

    def rerank_vectors(
        self,
        query: str,
        documents: Sequence[DocumentLike],
        vectors: np.ndarray,
        top_k: int | None = None,
    ) -> RerankResults:
        """Like ``rf(query, documents, top_k)`` but scores the given document vectors."""
        text = validate_query(query)
        candidates = candidates_of(documents)
        k = validate_top_k(top_k, len(candidates))
        return results_of(documents, self.rerank(text, candidates, k, vectors=vectors))

    def rerank(
        self,
        query: str | Query,
        candidates: Sequence[Hit] | Ranking,
        top_k: int | None = None,
        *,
        vectors: np.ndarray | None = None,
    ) -> Ranking:
        """Rerank search hits; with ``vectors`` (row i for hit i, e.g.
        ``index.chunk_vectors([h.chunk_id for h in hits])``) no document is embedded."""
        if vectors is None:
            return super().rerank(query, candidates, top_k)
        text = validate_query(query)
        hits = check_candidates(candidates)
        scores = self.score_vectors(text, checked_vectors(vectors, len(hits)))
        info = {
            "reranker": self.name,
            "documents": len(hits),
            "cache_hits": 0,
            "precomputed_vectors": True,
        }
        return reranked(hits, scores, top_k, info)


def _label(embedder: Embedder) -> str:
    try:
        model = embedder.config().get("model")
    except NotImplementedError:
        model = None
    return str(model) if model else type(embedder).__name__
