"""Blend a reranker's scores with the first stage's: interpolation for domain shift.

A reranker trained elsewhere, or on a few hundred questions, is often better than
retrieval on some queries and worse on others; a weighted sum of the two normalised
scores keeps the best of both (the "interpolation" of the IR literature). For the
first-stage top ``N = min(top_n, n)`` candidates::

    final = weight * norm(reranker) + (1 - weight) * norm(first stage)

with ``norm`` (min-max or z-score) over those N. The other candidates are not scored by
the reranker; they keep the first stage's order below every top-N candidate, exactly as
in :func:`~blendrank.rerank.combinators.cascade.cascade_scores`. ``weight=1`` is plain reranking of
the top N; ``weight=0`` is the first stage.

First-stage scores come from the hits (``Hit.score``, the fused score, or
``Hit.scores[first_stage]``: ``"bm25"``, ``"dense"``), a mapping's ``"score"``, or
``first_stage_scores=``. Choose ``weight`` on held-out queries
(``blendrank eval`` with ``rerank_blend`` in a grid, or ``bench/train_recipe.py``), not on
the test set.

>>> rf = BlendReranker(CrossEncoderReranker("models/scifact-ce"), weight=0.6)  # doctest: +SKIP
>>> index.search("query", rerank=rf, candidates=100, top_k=10)                 # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.fuse.normalize import Normalization
from blendrank.rerank.base import (
    Reranker,
    Scale,
    check_candidates,
    ranked_order,
    reranked,
    validate_query,
)
from blendrank.rerank.combinators.base import (
    WrapperReranker,
    check_count,
    check_fraction,
    check_normalization,
    check_reranker,
    first_stage,
)
from blendrank.rerank.combinators.cascade import cascade_scores
from blendrank.types import Hit, Query, Ranking


class BlendReranker(WrapperReranker):
    """``weight * norm(base) + (1 - weight) * norm(first stage)`` over the first stage's
    top ``top_n`` (None = all candidates); see the module docstring."""

    def __init__(
        self,
        base: Reranker,
        weight: float = 0.5,
        *,
        top_n: int | None = None,
        first_stage: str | None = None,
        normalization: Normalization = "minmax",
    ) -> None:
        super().__init__()
        self.base = check_reranker(base, "base")
        self.weight = check_fraction(weight, "weight")
        self.top_n = None if top_n is None else check_count(top_n, "top_n", 1)
        if first_stage is not None and (not isinstance(first_stage, str) or not first_stage):
            raise InvalidInputError(
                f"first_stage must be None (Hit.score) or a score name such as 'bm25' or "
                f"'dense'; got {first_stage!r}"
            )
        self.first_stage = first_stage
        self.normalization = check_normalization(normalization)
        self.name = f"blend({self.base.name},weight={self.weight:g})"

    @property
    def fingerprint(self) -> str:
        return (
            f"blend:{self.weight}:{self.top_n}:{self.first_stage}:{self.normalization}:"
            f"{self.base.fingerprint}"
        )

    def config(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "base": self.base.config(),
            "weight": self.weight,
            "top_n": self.top_n,
            "first_stage": self.first_stage,
            "normalization": self.normalization,
        }

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
        first = first_stage(hits, self.first_stage)
        if first is None:
            where = f"Hit.scores[{self.first_stage!r}]" if self.first_stage else "Hit.score"
            raise InvalidInputError(
                f"BlendReranker needs a finite first-stage score for every document "
                f"({where}, a mapping's 'score', or first_stage_scores=[...] with "
                "rf(query, documents)); some have none. Rerank search hits "
                "(index.search(..., rerank=rf)) to get them"
            )
        top = ranked_order(first)[: self.top_n or len(hits)]
        given = None if vectors is None else np.asarray(vectors)[top]  # rows follow the hits
        second, inner = self.inner(self.base, text, [hits[i] for i in top], given)
        info = self.info(hits, inner, second_stage_scored=int(len(top)), weight=self.weight)
        if not hits:
            return Ranking(info=info)
        scores = cascade_scores(first, top, second, self.weight, self.normalization)
        return reranked(hits, scores, top_k, info)

    @property
    def scale(self) -> Scale:  # type: ignore[override]
        return "score"  # a blend of two normalised scores, not the base model's scale
