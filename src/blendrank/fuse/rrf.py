"""Reciprocal Rank Fusion.

Cormack, Clarke & Buettcher (2009), "Reciprocal Rank Fusion outperforms Condorcet and
individual Rank Learning Methods", SIGIR. https://doi.org/10.1145/1571941.1572114
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.fuse._runs import check_runs_mapping, check_weights, ranked_ids, sorted_fusion


def reciprocal_rank_fusion(
    runs: Mapping[str, Sequence[str]],
    k: int = 60,
    weights: Mapping[str, float] | None = None,
) -> list[tuple[str, float]]:
    """Fuse ranked lists by ``score(d) = sum_r w_r / (k + rank_r(d))``, ranks 1-based.

    ``runs`` maps a retriever name to its ids, best first. A document absent from a run gets
    nothing from it; an id repeated within a run counts once, at its first (best) rank.
    ``weights`` default to 1.0 for every run (weighted RRF when given). ``k = 60`` is the
    paper's constant; it damps the advantage of the very top ranks.

    Returns ``(id, score)`` pairs, score descending, ties broken by id ascending.

    >>> reciprocal_rank_fusion({"bm25": ["a", "b"], "dense": ["b", "c"]}, k=1)
    [('b', 0.8333333333333333), ('a', 0.5), ('c', 0.3333333333333333)]
    """
    check_runs_mapping(runs)
    if isinstance(k, bool) or not isinstance(k, int | float | np.number) or not k >= 0:
        raise InvalidInputError(f"k must be a number >= 0 (60 is usual), got {k!r}")
    if not math.isfinite(k):
        raise InvalidInputError(f"k must be finite, got {k!r}")
    weight_of = check_weights(weights, runs)
    contributions: dict[str, list[float]] = {}
    for name, ids in runs.items():
        weight = weight_of[name]
        for rank, doc_id in enumerate(ranked_ids(name, ids), start=1):
            contributions.setdefault(doc_id, []).append(weight / (k + rank))
    return sorted_fusion(contributions)
