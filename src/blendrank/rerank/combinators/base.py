"""Base of rerankers built from other rerankers (cascade, blend, ensemble, MMR,
threshold, selective). Their score for one text depends on the other candidates
(normalisation, selection), so they keep no cache of their own; each inner model uses
its own cache and the hits are counted in ``info["cache_hits"]``. They override
:meth:`~blendrank.rerank.base.Reranker.rerank` and call their inner rerankers' ``rerank``,
so any reranker (a listwise LLM, another combinator) can sit inside."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.fuse.normalize import NORMALIZATIONS, Normalization
from blendrank.rerank.base import Reranker, Scale, ScoreCache, scores_by_id
from blendrank.types import Hit


class CompositeReranker(Reranker):
    def __init__(self) -> None:
        super().__init__(cache=None)

    @property  # type: ignore[override]
    def cache(self) -> ScoreCache | None:
        return None

    @cache.setter
    def cache(self, value: ScoreCache | None) -> None:
        if value is not None:
            raise InvalidInputError(
                f"{type(self).__name__} cannot cache its own scores (they depend on the "
                "other candidates); set the cache on the inner rerankers instead"
            )

    def inner(
        self,
        model: Reranker,
        query: str,
        candidates: Sequence[Hit],
        vectors: np.ndarray | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """``model``'s score of every candidate (in candidate order) and its info; the
        stored ``vectors`` go along when ``model`` reads vectors of the same model."""
        if not candidates:
            return np.zeros(0, dtype=np.float64), {"cache_hits": 0}
        given = vectors if vectors is not None and self.passes_vectors(model) else None
        ranking = model.rerank(query, candidates, vectors=given)
        return scores_by_id(ranking, candidates, model.name), ranking.info

    def passes_vectors(self, model: Reranker) -> bool:
        return model.uses_vectors and model.vector_model == self.vector_model

    def info(self, candidates: Sequence[Hit], *inner: dict[str, Any], **extra: Any) -> dict:
        """The info of one call: name, documents, inner cache hits summed, ``extra``."""
        hits = sum(int(i.get("cache_hits", 0)) for i in inner)
        return {"reranker": self.name, "documents": len(candidates), "cache_hits": hits, **extra}


class WrapperReranker(CompositeReranker):
    """A combinator around one ``base`` reranker (threshold, selective, blend): its scores
    are on ``base``'s scale and it reads the stored vectors ``base`` reads."""

    base: Reranker

    @property
    def scale(self) -> Scale:  # type: ignore[override]
        return self.base.scale

    @property
    def vector_model(self) -> str | None:
        return self.base.vector_model

    @property
    def uses_vectors(self) -> bool:  # type: ignore[override]
        return self.base.uses_vectors


def first_stage(hits: Sequence[Hit], key: str | None) -> np.ndarray | None:
    """Each hit's first-stage score (``Hit.score``, or ``Hit.scores[key]``); None when
    any lacks a finite one."""
    values = []
    for hit in hits:
        value = hit.score if key is None else hit.scores.get(key)
        if value is None or not math.isfinite(value):
            return None
        values.append(float(value))
    return np.asarray(values, dtype=np.float64)


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
