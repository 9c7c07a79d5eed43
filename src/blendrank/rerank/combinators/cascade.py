"""Two-stage cascade ("MixLM" recipe): a cheap model ranks every candidate, an
expensive one rescores only the cheap model's top N, and the two are blended.

For the top ``N = min(top_n, n)`` candidates by ``first``::

    final = alpha * norm(second) + (1 - alpha) * norm(first)

where ``norm`` (min-max or z-score) runs over those N candidates only. The other
``n - N`` candidates keep ``first``'s order and sit strictly below every top-N
candidate: their score is ``min(final) - 1 - (1 - minmax(first))``, with ``minmax``
over all n candidates, so it lies in ``[min(final) - 2, min(final) - 1]``. Read those
scores for order only.

>>> rf = CascadeReranker(BiEncoderReranker(), CrossEncoderReranker("..."))  # doctest: +SKIP
>>> rf("query", documents, top_k=10).info["second_stage_scored"]            # doctest: +SKIP
20
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from blendrank.fuse.normalize import Normalization, minmax, normalize
from blendrank.rerank.base import (
    Reranker,
    check_candidates,
    ranked_order,
    reranked,
    validate_query,
)
from blendrank.rerank.bi_encoder import BiEncoderReranker
from blendrank.rerank.combinators.base import (
    CompositeReranker,
    check_count,
    check_fraction,
    check_normalization,
    check_reranker,
    first_stage,
)
from blendrank.types import Hit, Query, Ranking


def cascade_scores(
    first: np.ndarray,
    top: np.ndarray,
    second: np.ndarray,
    alpha: float,
    normalization: Normalization = "minmax",
) -> np.ndarray:
    """Final cascade scores of all candidates. Pure.

    ``first``: first-stage scores of all n candidates; ``top``: indices of the N
    candidates the second stage scored (in ``first``'s rank order); ``second``: their
    second-stage scores.

    >>> cascade_scores(np.array([0.9, 0.1, 0.5]), np.array([0, 2]), np.array([1.0, 3.0]), 0.7)
    array([ 0.3, -1.7,  0.7])
    """
    first = np.asarray(first, dtype=np.float64)
    top = np.asarray(top, dtype=np.int64)
    second_part: np.ndarray = alpha * normalize(second, normalization)
    first_part: np.ndarray = (1 - alpha) * normalize(first[top], normalization)
    blended = second_part + first_part
    out = np.empty(len(first), dtype=np.float64)
    out[top] = blended
    rest = np.setdiff1d(np.arange(len(first)), top)
    if rest.size:
        out[rest] = blended.min() - 1.0 - (1.0 - minmax(first)[rest])
    return out


class CascadeReranker(CompositeReranker):
    """``first`` scores all candidates, ``second`` rescores the first's top ``top_n``;
    scores are blended as in the module docstring.

    When ``first`` is a :class:`BiEncoderReranker` and every candidate hit carries
    ``scores["dense"]`` (the index's cosine), those scores stand in for the first stage
    and no document is embedded (``reuse_dense_scores=False`` turns this off; only use it
    when the index was built with ``first``'s embedder).
    """

    def __init__(
        self,
        first: Reranker,
        second: Reranker,
        top_n: int = 20,
        alpha: float = 0.7,
        normalization: Normalization = "minmax",
        *,
        reuse_dense_scores: bool = True,
    ) -> None:
        super().__init__()
        self.first = check_reranker(first, "first")
        self.second = check_reranker(second, "second")
        self.top_n = check_count(top_n, "top_n", 1)
        self.alpha = check_fraction(alpha, "alpha")
        self.normalization = check_normalization(normalization)
        self.reuse_dense_scores = bool(reuse_dense_scores)
        self.name = f"cascade({first.name}>{second.name})"

    @property
    def fingerprint(self) -> str:
        return (
            f"cascade:{self.first.fingerprint}>{self.second.fingerprint}:"
            f"{self.top_n}:{self.alpha}:{self.normalization}"
        )

    @property
    def vector_model(self) -> str | None:
        return self.first.vector_model

    @property
    def uses_vectors(self) -> bool:  # type: ignore[override]
        return self.first.uses_vectors

    def config(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "first": self.first.config(),
            "second": self.second.config(),
            "top_n": self.top_n,
            "alpha": self.alpha,
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
        dense = self._dense_scores(hits)
        if dense is not None:
            first_info: dict[str, Any] = {}
            first, source = dense, "hits.scores['dense']"
        else:
            first, first_info = self.inner(self.first, text, hits, vectors)
            source = "model"
        top = ranked_order(first)[: self.top_n]
        second, second_info = self.inner(self.second, text, [hits[i] for i in top])
        info = self.info(
            hits, first_info, second_info, second_stage_scored=int(len(top)), first_stage=source
        )
        if not hits:
            return Ranking(info=info)
        scores = cascade_scores(first, top, second, self.alpha, self.normalization)
        return reranked(hits, scores, top_k, info)

    def _dense_scores(self, hits: Sequence[Hit]) -> np.ndarray | None:
        if not (hits and self.reuse_dense_scores and isinstance(self.first, BiEncoderReranker)):
            return None
        return first_stage(hits, "dense")
