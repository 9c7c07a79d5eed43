"""Selective reranking: skip the (slow) reranker when the first stage is already sure.

The rule, on the first-stage scores of the candidates (``Hit.score``, or
``Hit.scores[first_stage]``, or a mapping's ``"score"``, or ``first_stage_scores=``):

1. one candidate -> skip (nothing to reorder);
2. fewer than 3 candidates, or no first-stage scores -> rerank (with 2 scores the
   normalised gap is always the same number, so it says nothing);
3. otherwise normalise the scores (min-max by default) and take
   ``gap = norm(top-1) - norm(top-2)``; skip when ``gap >= margin``, else rerank.

With min-max, ``gap = (s1 - s2) / (s1 - s_min)``: the share of the whole score range
that separates the leader from the runner-up. ``margin=0.5`` (default) skips only when
the leader is further from #2 than #2 is from the last candidate.

When skipped, results come in first-stage order with first-stage scores (hits get no
``"rerank"`` entry); otherwise ``base`` runs as usual. ``info["skipped"]``,
``info["reason"]`` and ``info["gap"]`` say what happened (in the returned ranking's or
results' ``info``). Scores of skipped and reranked calls are on different scales.

>>> rf = SelectiveReranker(CrossEncoderReranker("..."), margin=0.5)     # doctest: +SKIP
>>> rf.rerank("query", index.search("query"), top_k=5)             # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.fuse.normalize import Normalization, normalize
from blendrank.rerank.base import (
    Reranker,
    check_candidates,
    ranked_order,
    reranked,
    validate_query,
)
from blendrank.rerank.combinators.base import (
    WrapperReranker,
    check_normalization,
    check_real,
    check_reranker,
    first_stage,
)
from blendrank.types import Hit, Query, Ranking

MIN_CANDIDATES_FOR_GAP = 3


def first_stage_decision(
    scores: np.ndarray | None, margin: float, normalization: Normalization = "minmax"
) -> tuple[bool, str, float | None]:
    """``(skip, reason, gap)`` by the rule in the module docstring. Pure.

    >>> first_stage_decision(np.array([10.0, 4.0, 2.0, 0.0]), 0.5)
    (True, 'first-stage top-1 leads top-2 by 0.6 >= margin 0.5 (minmax)', 0.6)
    """
    if scores is None:
        return False, "no first-stage scores on the input", None
    if len(scores) == 1:
        return True, "one candidate: nothing to reorder", None
    if len(scores) < MIN_CANDIDATES_FOR_GAP:
        return False, f"fewer than {MIN_CANDIDATES_FOR_GAP} candidates to judge the gap", None
    norm = normalize(scores, normalization)
    best, second = (float(norm[i]) for i in ranked_order(norm)[:2])
    gap = round(best - second, 6)
    if gap >= margin:
        return (
            True,
            f"first-stage top-1 leads top-2 by {gap:g} >= margin {margin:g} ({normalization})",
            gap,
        )
    return False, f"first-stage gap {gap:g} < margin {margin:g} ({normalization})", gap


class SelectiveReranker(WrapperReranker):
    """Run ``base`` only when the first stage's top-1 is not decisive (module docstring).

    ``first_stage``: which first-stage score of a Hit to judge (None = ``Hit.score``,
    e.g. the fused score; or ``"dense"``, ``"bm25"``...).
    """

    def __init__(
        self,
        base: Reranker,
        margin: float = 0.5,
        *,
        first_stage: str | None = None,
        normalization: Normalization = "minmax",
    ) -> None:
        super().__init__()
        self.base = check_reranker(base, "base")
        self.margin = check_real(margin, "margin")
        if self.margin < 0:
            raise InvalidInputError(f"margin must be >= 0, got {margin}")
        self.first_stage = first_stage
        self.normalization = check_normalization(normalization)
        self.name = f"selective({self.base.name},margin={self.margin:g})"

    @property
    def fingerprint(self) -> str:
        return f"selective:{self.margin}:{self.first_stage}:{self.base.fingerprint}"

    def config(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "base": self.base.config(),
            "margin": self.margin,
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
        """Rerank, or keep the first-stage order when it is decisive."""
        validate_query(query)
        hits = check_candidates(candidates)
        scores = first_stage(hits, self.first_stage)
        skip, reason, gap = first_stage_decision(scores, self.margin, self.normalization)
        decision = {"skipped": skip, "reason": reason, "gap": gap}
        if skip and scores is not None:
            info = self.info(hits, **decision)
            return reranked(hits, scores, top_k, info, key=None)
        ranking = self.base.rerank(query, hits, top_k, vectors=vectors)
        ranking.info.update(decision)
        return ranking
