"""Validation during training: NDCG@10 of reranking held-out queries' first-stage
candidates, computed here (pure Python, linear gains as ranx's ``ndcg``) so training
needs no evaluation extra."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def ndcg_at_k(ranked: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    """NDCG@k with gain = grade and log2 discounts; 0 when nothing is relevant.

    >>> round(ndcg_at_k(["b", "a"], {"a": 1}), 4)
    0.6309
    >>> ndcg_at_k(["a", "b"], {"a": 1})
    1.0
    """
    dcg = sum(
        judged.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if judged.get(d, 0)
    )
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mean_ndcg(
    rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], k: int = 10
) -> float:
    """Mean NDCG@k over the queries of ``rankings``."""
    if not rankings:
        return 0.0
    return sum(ndcg_at_k(r, qrels[q], k) for q, r in rankings.items()) / len(rankings)
