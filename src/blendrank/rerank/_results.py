"""Shared plumbing for rerankers that already hold their scores (precomputed vectors,
first-stage scores on hits): validation and result objects built the way
:meth:`Reranker.rerank` builds them, so every path returns the same shapes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.rerank.base import (
    DocumentLike,
    RerankResults,
    document_fields,
    ranked_order,
    validate_query,
    validate_top_k,
)
from blendrank.types import Hit, RerankResult

Fields = list[tuple[str, str | None, dict[str, Any]]]


def checked_vectors(vectors: np.ndarray, rows: int | None = None) -> np.ndarray:
    """Stored document vectors as a finite numeric (n, dim) array, with ``rows`` rows when given
    (one row per document or hit, in order)."""
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


def checked_fields(query: str, documents: Sequence[DocumentLike]) -> tuple[str, Fields]:
    """Validate ``query`` and ``documents`` exactly as ``Reranker.rerank`` does."""
    query = validate_query(query)
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
        raise InvalidInputError("documents must be a list of strings, Documents or Hits")
    if len(documents) == 0:
        raise InvalidInputError("documents is empty; pass at least one document to rerank")
    return query, [document_fields(d, i) for i, d in enumerate(documents)]


def results_from_scores(
    fields: Fields, scores: np.ndarray, top_k: int | None, info: dict[str, Any]
) -> RerankResults:
    """Sorted :class:`RerankResults` of ``fields`` by ``scores`` (ties by input position)."""
    k = validate_top_k(top_k, len(fields))
    scores = np.asarray(scores, dtype=np.float32)
    results = [
        RerankResult(
            text=fields[i][0],
            score=float(scores[i]),
            index=int(i),
            id=fields[i][1],
            metadata=fields[i][2],
        )
        for i in ranked_order(scores)[:k]
    ]
    return RerankResults(results, info)


def hits_from_scores(
    hits: Sequence[Hit], scores: np.ndarray, top_k: int | None, key: str | None = "rerank"
) -> list[Hit]:
    """``hits`` re-sorted by ``scores``; ``score`` becomes the new score and, when ``key``
    is set, ``scores[key]``/``ranks[key]`` record it (as ``Reranker.rerank_hits`` does)."""
    k = validate_top_k(min(top_k or len(hits), len(hits)), len(hits))
    scores = np.asarray(scores, dtype=np.float32)
    out = []
    for rank, i in enumerate(ranked_order(scores)[:k], start=1):
        hit, value = hits[int(i)], float(scores[i])
        if key is None:
            out.append(replace(hit, score=value))
        else:
            out.append(
                replace(
                    hit,
                    score=value,
                    scores={**hit.scores, key: value},
                    ranks={**hit.ranks, key: rank},
                )
            )
    return out


def hit_scores(hits: Sequence[Hit], key: str | None) -> np.ndarray | None:
    """Each hit's ``scores[key]`` (or ``score`` when ``key`` is None); None if any lacks it."""
    values = []
    for hit in hits:
        if not isinstance(hit, Hit):
            return None
        value = hit.score if key is None else hit.scores.get(key)
        if value is None or not np.isfinite(value):
            return None
        values.append(float(value))
    return np.asarray(values, dtype=np.float64)


def first_stage_scores(
    documents: Sequence[DocumentLike], given: Sequence[float] | None, key: str | None
) -> np.ndarray | None:
    """The first-stage score of each document, or None when they do not all have one.

    From ``given`` (checked: one finite number per document), else each Hit's ``score``
    (``scores[key]`` when ``key`` is set), else each mapping's ``"score"`` (only when
    ``key`` is None).
    """
    if given is not None:
        values = np.asarray(given, dtype=np.float64)
        if values.shape != (len(documents),) or not np.isfinite(values).all():
            raise InvalidInputError(
                f"first_stage_scores must be {len(documents)} finite numbers, one per "
                f"document; got shape {values.shape}"
            )
        return values
    if all(isinstance(d, Hit) for d in documents):
        return hit_scores(documents, key)  # type: ignore[arg-type]
    if key is None and all(isinstance(d, Mapping) for d in documents):
        raw = [d.get("score") for d in documents]  # type: ignore[union-attr]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw):
            values = np.asarray(raw, dtype=np.float64)
            return values if np.isfinite(values).all() else None
    return None
