"""Base of rerankers built from other rerankers (cascade, ensemble, MMR, threshold,
selective). Their score for one text depends on the other candidates (normalisation,
selection), so they keep no cache of their own; each inner model uses its own cache and
the hits are counted in ``info["cache_hits"]``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.fuse.normalize import NORMALIZATIONS, Normalization
from blendrank.rerank.base import DocumentLike, Reranker, RerankResults


class CompositeReranker(Reranker):
    def __init__(self) -> None:
        super().__init__(cache=None)
        self._cache_hits = 0
        self._info: dict[str, Any] = {}

    def inner_scores(self, model: Reranker, query: str, texts: Sequence[str]) -> np.ndarray:
        """``model``'s scores through its own cache, shape-checked, as float64."""
        scores, hits = model.cached_score(query, list(texts))
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != (len(texts),):
            raise RuntimeError(
                f"{type(model).__name__}.score returned shape {scores.shape} for {len(texts)} texts"
            )
        self._cache_hits += hits
        return scores

    def cached_score(self, query: str, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        if self.cache is not None:
            raise InvalidInputError(
                f"{type(self).__name__} cannot cache its own scores (they depend on the "
                "other candidates); set the cache on the inner rerankers instead"
            )
        self._cache_hits = 0
        scores = np.asarray(self.score(query, texts), dtype=np.float32)
        return scores, self._cache_hits

    def last_info(self) -> dict[str, Any]:
        return dict(self._info)


class FirstStageReranker(CompositeReranker):
    """A combinator that reads first-stage scores: ``rf(query, documents, top_k,
    first_stage_scores=[...])`` passes them through to :meth:`rerank`."""

    def rerank(
        self,
        query: str,
        documents: Sequence[DocumentLike],
        top_k: int | None = None,
        *,
        first_stage_scores: Sequence[float] | None = None,
    ) -> RerankResults:
        raise NotImplementedError

    def __call__(
        self,
        query: str,
        documents: Sequence[DocumentLike],
        top_k: int | None = None,
        *,
        first_stage_scores: Sequence[float] | None = None,
    ) -> RerankResults:
        return self.rerank(query, documents, top_k, first_stage_scores=first_stage_scores)


def check_reranker(value: object, what: str) -> Reranker:
    if not isinstance(value, Reranker):
        raise InvalidInputError(f"{what} must be a blendrank Reranker, got {type(value).__name__}")
    return value


def check_fraction(value: object, what: str) -> float:
    """A real number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(float(value)):
        raise InvalidInputError(f"{what} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise InvalidInputError(f"{what} must be in [0, 1], got {value}")
    return float(value)


def check_count(value: object, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"{what} must be an integer, got {value!r}")
    if value < minimum:
        raise InvalidInputError(f"{what} must be >= {minimum}, got {value}")
    return int(value)


def check_real(value: object, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
    ):
        raise InvalidInputError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def check_normalization(method: object) -> Normalization:
    if method not in NORMALIZATIONS:
        raise InvalidInputError(
            f"normalization must be one of {', '.join(NORMALIZATIONS)}; got {method!r}"
        )
    return method  # type: ignore[return-value]  # checked against NORMALIZATIONS
