"""Distribution-Based Score Fusion (DBSF).

Mazzeschi (2023), "Distribution-Based Score Fusion (DBSF), a new approach to Vector Search
Ranking", Plain Simple Software (Medium); https://github.com/atlantis-nova/hybrid-dbsf ;
implemented as in Qdrant's ``Fusion.DBSF`` (sample standard deviation, 0.5 when it is 0).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from blendrank.fuse._runs import (
    ScoredRun,
    check_runs_mapping,
    check_weights,
    scored_run,
)
from blendrank.fuse.linear import weighted_sum


def distribution_based_fusion(
    runs: Mapping[str, ScoredRun],
    weights: Mapping[str, float] | None = None,
) -> list[tuple[str, float]]:
    """Normalise each list with its mean +- 3 standard deviations as bounds, then sum.

    For a list with mean ``mu`` and sample standard deviation ``sigma`` (ddof=1)::

        norm(s) = clip((s - (mu - 3 sigma)) / (6 sigma), 0, 1)
        score(d) = sum_r w_r * norm_r(s_r(d))

    Unlike min-max, a single outlier does not squash the rest of the list. A list of one
    score, or with sigma = 0, maps to 0.5. A document absent from a list gets 0 from it.
    Returns ``(id, score)`` pairs, score descending, ties broken by id ascending.

    >>> fused = distribution_based_fusion({"dense": (["a", "b"], [1.0, 3.0])})
    >>> [(doc_id, round(score, 4)) for doc_id, score in fused]
    [('b', 0.6179), ('a', 0.3821)]
    """
    check_runs_mapping(runs)
    weight_of = check_weights(weights, runs)
    normalised: dict[str, tuple[dict[str, float], float]] = {}
    for name, run in runs.items():
        ids, scores = scored_run(name, run)
        values = _three_sigma(scores)
        normalised[name] = (dict(zip(ids, values.tolist(), strict=True)), 0.0)
    return weighted_sum(normalised, weight_of)


def _three_sigma(scores: np.ndarray) -> np.ndarray:
    if scores.size < 2:
        return np.full_like(scores, 0.5)
    mean, sigma = scores.mean(), scores.std(ddof=1)
    if sigma == 0.0:
        return np.full_like(scores, 0.5)
    return np.clip((scores - (mean - 3.0 * sigma)) / (6.0 * sigma), 0.0, 1.0)
