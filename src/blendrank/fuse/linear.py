"""Linear (weighted-sum) score fusion, a.k.a. CombSUM over normalised scores.

Fox & Shaw (1994), "Combination of Multiple Searches", TREC-2; with min-max or z-score
normalisation as in Lee (1997), "Analyses of multiple evidence combination", SIGIR.
"""

from __future__ import annotations

from collections.abc import Mapping

from blendrank.errors import InvalidInputError
from blendrank.fuse._runs import (
    ScoredRun,
    check_runs_mapping,
    check_weights,
    scored_run,
    sorted_fusion,
)
from blendrank.fuse.normalize import NORMALIZATIONS, normalize


def linear_fusion(
    runs: Mapping[str, ScoredRun],
    weights: Mapping[str, float] | None = None,
    normalization: str = "minmax",
) -> list[tuple[str, float]]:
    """Fuse scored lists by ``score(d) = sum_r w_r * norm_r(s_r(d))``.

    Each run ``(ids, scores)`` is normalised on its own list (``minmax``, ``zscore`` or
    ``none``), then weighted (default 1.0 per run) and summed. A document absent from a run
    contributes:

    - ``minmax`` and ``none``: 0 (min-max maps a run's worst document to 0, so an absent one
      counts as no better than it);
    - ``zscore``: the run's minimum normalised value, i.e. it is treated like the run's worst
      document. Using 0 would rank it at the run's *mean*, above every below-average document
      the run actually returned, which rewards being missing.

    An id listed twice in a run keeps its highest score. Returns ``(id, score)`` pairs, score
    descending, ties broken by id ascending.

    >>> linear_fusion({"bm25": (["a", "b"], [10.0, 0.0]), "dense": (["b"], [0.9])})
    [('a', 1.0), ('b', 1.0)]
    """
    check_runs_mapping(runs)
    if normalization not in NORMALIZATIONS:
        raise InvalidInputError(
            f"unknown normalization {normalization!r}; valid: "
            f"{', '.join(map(repr, NORMALIZATIONS))}"
        )
    weight_of = check_weights(weights, runs)
    normalised: dict[str, tuple[dict[str, float], float]] = {}
    for name, run in runs.items():
        ids, scores = scored_run(name, run)
        values = normalize(scores, normalization)  # type: ignore[arg-type]
        absent = float(values.min()) if normalization == "zscore" and len(values) else 0.0
        normalised[name] = (dict(zip(ids, values.tolist(), strict=True)), absent)
    return weighted_sum(normalised, weight_of)


def weighted_sum(
    normalised: Mapping[str, tuple[dict[str, float], float]], weight_of: Mapping[str, float]
) -> list[tuple[str, float]]:
    """Sum ``w_r * value`` over runs, using each run's ``absent`` value for missing ids."""
    every_id: dict[str, None] = {}
    for values, _ in normalised.values():
        every_id.update(dict.fromkeys(values))
    contributions: dict[str, list[float]] = {doc_id: [] for doc_id in every_id}
    for name, (values, absent) in normalised.items():
        weight = weight_of[name]
        if absent == 0.0:  # the common case: only the run's own ids contribute
            for doc_id, value in values.items():
                contributions[doc_id].append(weight * value)
            continue
        for doc_id, parts in contributions.items():
            parts.append(weight * values.get(doc_id, absent))
    return sorted_fusion(contributions)
