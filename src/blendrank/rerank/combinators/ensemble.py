"""Ensembles of rerankers: several models score the same candidates and their scores
are combined.

``method="weighted"`` (a weighted mean of normalised scores)::

    score(d) = sum_j w_j * norm_j(d) / sum_j w_j

``method="rrf"`` (weighted Reciprocal Rank Fusion, Cormack, Clarke & Buettcher,
SIGIR 2009), with ``rank_j(d)`` the 1-based rank of d by model j (ties by input
position)::

    score(d) = sum_j w_j / (rrf_k + rank_j(d))

Weights default to 1 for every model.

>>> ensemble_rrf([np.array([3.0, 1.0]), np.array([0.0, 5.0])], [1.0, 1.0], rrf_k=0)
array([1.5, 1.5])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.fuse.normalize import Normalization, normalize
from blendrank.rerank.base import (
    Reranker,
    Scale,
    check_candidates,
    ranked_order,
    reranked,
    validate_query,
)
from blendrank.rerank.combinators.base import (
    CompositeReranker,
    check_normalization,
    check_real,
    check_reranker,
)
from blendrank.types import Hit, Query, Ranking

METHODS = ("weighted", "rrf")


def ensemble_weighted(
    scores: Sequence[np.ndarray], weights: Sequence[float], normalization: Normalization = "minmax"
) -> np.ndarray:
    """Weighted mean of each model's normalised scores. Pure.

    >>> ensemble_weighted([np.array([0.0, 2.0, 1.0]), np.array([9.0, 7.0, 8.0])], [3.0, 1.0])
    array([0.25, 0.75, 0.5 ])
    """
    total = np.zeros(len(scores[0]), dtype=np.float64)
    for model_scores, weight in zip(scores, weights, strict=True):
        total += weight * normalize(model_scores, normalization)
    return total / float(sum(weights))


def ensemble_rrf(
    scores: Sequence[np.ndarray], weights: Sequence[float], rrf_k: float = 60.0
) -> np.ndarray:
    """Weighted reciprocal rank fusion of each model's ranking. Pure."""
    total = np.zeros(len(scores[0]), dtype=np.float64)
    for model_scores, weight in zip(scores, weights, strict=True):
        ranks = np.empty(len(model_scores), dtype=np.float64)
        ranks[ranked_order(model_scores)] = np.arange(1, len(model_scores) + 1)
        total += weight / (rrf_k + ranks)
    return total


class EnsembleReranker(CompositeReranker):
    """Combine several rerankers' scores ("weighted" mean of normalised scores, or "rrf").

    >>> rf = EnsembleReranker([BiEncoderReranker(), CrossEncoderReranker("...")],
    ...                       weights=[1, 2])                                  # doctest: +SKIP
    """

    def __init__(
        self,
        rerankers: Sequence[Reranker],
        weights: Sequence[float] | None = None,
        method: str = "weighted",
        normalization: Normalization = "minmax",
        rrf_k: float = 60,
    ) -> None:
        super().__init__()
        if isinstance(rerankers, Reranker) or not isinstance(rerankers, Sequence):
            raise InvalidInputError("rerankers must be a list of Reranker instances")
        if not rerankers:
            raise InvalidInputError("rerankers is empty; pass at least one Reranker")
        self.rerankers = [check_reranker(r, f"rerankers[{i}]") for i, r in enumerate(rerankers)]
        self.weights = _check_weights(weights, len(self.rerankers))
        if method not in METHODS:
            raise InvalidInputError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
        self.method = method
        self.normalization = check_normalization(normalization)
        self.rrf_k = check_real(rrf_k, "rrf_k")
        if self.rrf_k < 0:
            raise InvalidInputError(f"rrf_k must be >= 0, got {rrf_k}")
        self.name = f"ensemble({','.join(r.name for r in self.rerankers)})"

    @property
    def fingerprint(self) -> str:
        members = "|".join(r.fingerprint for r in self.rerankers)
        return f"ensemble:{self.method}:{self.normalization}:{self.rrf_k}:{self.weights}:{members}"

    def config(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "rerankers": [r.config() for r in self.rerankers],
            "weights": list(self.weights),
            "method": self.method,
            "normalization": self.normalization,
            "rrf_k": self.rrf_k,
        }

    @property
    def scale(self) -> Scale:  # type: ignore[override]
        return "position" if self.method == "rrf" else "score"

    def rerank(
        self,
        query: str | Query,
        candidates: Sequence[Hit] | Ranking,
        top_k: int | None = None,
        *,
        vectors: np.ndarray | None = None,
    ) -> Ranking:
        text = validate_query(query)
        hits = check_candidates(candidates)
        scored = [self.inner(r, text, hits) for r in self.rerankers]
        members = [r.name for r in self.rerankers]
        info = self.info(hits, *(i for _, i in scored), method=self.method, members=members)
        if not hits:
            return Ranking(info=info)
        scores = [s for s, _ in scored]
        if self.method == "rrf":
            combined = ensemble_rrf(scores, self.weights, self.rrf_k)
        else:
            combined = ensemble_weighted(scores, self.weights, self.normalization)
        return reranked(hits, combined, top_k, info)


def _check_weights(weights: Sequence[float] | None, n: int) -> tuple[float, ...]:
    if weights is None:
        return (1.0,) * n
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
        raise InvalidInputError("weights must be a list of numbers, one per reranker")
    if len(weights) != n:
        raise InvalidInputError(f"got {len(weights)} weights for {n} rerankers; pass one each")
    values = tuple(check_real(w, f"weights[{i}]") for i, w in enumerate(weights))
    if any(w < 0 for w in values):
        raise InvalidInputError(f"weights must be >= 0, got {list(values)}")
    if sum(values) <= 0:
        raise InvalidInputError("weights sum to 0; give at least one reranker a positive weight")
    return values
