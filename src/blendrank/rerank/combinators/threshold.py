"""Drop weak results: keep only documents whose reranked score is at least
``min_score``, but never fewer than ``min_keep`` (the best ones), so a RAG prompt is
not left empty by a strict threshold.

>>> rf = ThresholdReranker(BiEncoderReranker(), min_score=0.3)      # doctest: +SKIP
>>> rf("query", documents, top_k=10).info["dropped"]                # doctest: +SKIP
4
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from blendrank.rerank.base import Reranker
from blendrank.rerank.combinators.base import (
    WrapperReranker,
    check_count,
    check_real,
    check_reranker,
)
from blendrank.types import Hit, Query, Ranking


class ThresholdReranker(WrapperReranker):
    """``base``'s ranking cut at ``min_score`` (scores ``>= min_score`` stay), keeping at
    least ``min(min_keep, top_k)`` results. ``top_k`` is applied first, then the
    threshold, so a call can return fewer than ``top_k`` results;
    ``info["dropped"]`` says how many the threshold removed. The threshold applies to
    whatever scores ``base`` returns (its ``rerank`` runs unchanged, so a
    cascade still reuses dense scores and a selective reranker may still skip)."""

    def __init__(self, base: Reranker, min_score: float, min_keep: int = 1) -> None:
        super().__init__()
        self.base = check_reranker(base, "base")
        self.min_score = check_real(min_score, "min_score")
        self.min_keep = check_count(min_keep, "min_keep", 0)
        self.name = f"threshold({self.base.name}>={self.min_score})"

    @property
    def fingerprint(self) -> str:
        return f"threshold:{self.min_score}:{self.min_keep}:{self.base.fingerprint}"

    def config(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "base": self.base.config(),
            "min_score": self.min_score,
            "min_keep": self.min_keep,
        }

    def rerank(
        self,
        query: str | Query,
        candidates: Sequence[Hit] | Ranking,
        top_k: int | None = None,
        *,
        vectors: np.ndarray | None = None,
    ) -> Ranking:
        ranked = self.base.rerank(query, candidates, top_k, vectors=vectors)
        keep = self._keep(ranked.scores.tolist())
        info = {**ranked.info, "min_score": self.min_score, "dropped": len(ranked) - keep}
        kept = Ranking(ranked[:keep], info)
        return kept

    def _keep(self, sorted_scores: list[float]) -> int:
        """How many of the best results stay."""
        passing = sum(1 for score in sorted_scores if score >= self.min_score)
        return max(passing, min(self.min_keep, len(sorted_scores)))
