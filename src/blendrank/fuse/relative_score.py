"""Relative score fusion, as in Weaviate's ``relativeScoreFusion`` hybrid search.

Weaviate blog (2023), "Unlocking the Power of Hybrid Search: A Deep Dive into Weaviate's
Fusion Algorithms", https://weaviate.io/blog/hybrid-search-fusion-algorithms
"""

from __future__ import annotations

from collections.abc import Mapping

from blendrank.fuse._runs import ScoredRun
from blendrank.fuse.linear import linear_fusion


def relative_score_fusion(
    runs: Mapping[str, ScoredRun],
    weights: Mapping[str, float] | None = None,
) -> list[tuple[str, float]]:
    """Min-max each list to [0, 1], then ``score(d) = sum_r w_r * (s - min_r) / (max_r - min_r)``.

    Unlike RRF it keeps how far apart the scores are, not just their order. A list whose
    scores are all equal maps to 1.0; a document absent from a list gets 0 from it. Weights
    default to 1.0 (Weaviate's ``alpha`` is ``{"dense": alpha, "bm25": 1 - alpha}``).
    Equivalent to ``linear_fusion(runs, weights, normalization="minmax")``.

    >>> relative_score_fusion({"bm25": (["a", "b", "c"], [3.0, 2.0, 1.0])})
    [('a', 1.0), ('b', 0.5), ('c', 0.0)]
    """
    return linear_fusion(runs, weights=weights, normalization="minmax")
