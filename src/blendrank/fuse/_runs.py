"""Input checks and the accumulate-then-sort step shared by every fusion method."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.fuse.normalize import as_scores

ScoredRun = tuple[Sequence[str], Sequence[float]]


def check_weights(weights: Mapping[str, float] | None, names: Iterable[str]) -> dict[str, float]:
    """One weight per run name: the given ones, 1.0 for runs not mentioned."""
    names = list(names)
    if weights is None:
        return dict.fromkeys(names, 1.0)
    if not isinstance(weights, Mapping):
        raise InvalidInputError(
            f"weights must be a dict of run name -> weight, got {type(weights).__name__}"
        )
    for name, weight in weights.items():
        if name not in names:
            raise InvalidInputError(
                f"weights name a run {name!r} that is not among the runs: "
                f"{', '.join(map(repr, names)) or 'none'}"
            )
        if isinstance(weight, bool) or not isinstance(weight, int | float | np.number):
            raise InvalidInputError(f"weight of run {name!r} must be a number, got {weight!r}")
        if not math.isfinite(weight) or weight < 0:
            raise InvalidInputError(
                f"weight of run {name!r} must be a finite number >= 0, got {weight!r}"
            )
    return {name: float(weights.get(name, 1.0)) for name in names}


def check_runs_mapping(runs: object) -> None:
    if not isinstance(runs, Mapping):
        raise InvalidInputError(
            f"runs must be a dict of retriever name -> results, got {type(runs).__name__}"
        )


def ranked_ids(name: str, ids: object) -> list[str]:
    """The run's ids best first, each once (a repeated id keeps its first, best rank)."""
    if isinstance(ids, str) or not isinstance(ids, Sequence | np.ndarray):
        raise InvalidInputError(
            f"run {name!r} must be a sequence of ids, best first; got {type(ids).__name__}"
        )
    return list(dict.fromkeys(ids))


def scored_run(name: str, run: object) -> tuple[list[str], np.ndarray]:
    """``(ids, scores)`` checked, each id once (a repeated id keeps its highest score)."""
    if not isinstance(run, tuple | list) or len(run) != 2 or isinstance(run[0], str):
        raise InvalidInputError(
            f"run {name!r} must be a pair (ids, scores) of equal-length sequences, e.g. "
            f"(['d1', 'd2'], [3.2, 1.5]); for plain ranked id lists use reciprocal_rank_fusion"
        )
    ids, scores = run
    if not isinstance(ids, Sequence | np.ndarray):
        raise InvalidInputError(f"run {name!r}: ids must be a sequence of ids")
    array = as_scores(scores)
    if len(ids) != len(array):
        raise InvalidInputError(
            f"run {name!r} has {len(ids)} ids but {len(array)} scores; they must pair up"
        )
    best: dict[str, float] = {}
    for doc_id, score in zip(ids, array.tolist(), strict=True):
        if doc_id not in best or score > best[doc_id]:
            best[doc_id] = score
    if len(best) == len(array):
        return list(ids), array
    return list(best), np.fromiter(best.values(), dtype=np.float64, count=len(best))


def ranked_by_score(ids: Sequence[str], scores: np.ndarray) -> list[str]:
    """Ids sorted by score, highest first; equal scores keep their given order."""
    order = np.argsort(-scores, kind="stable")
    return [ids[i] for i in order.tolist()]


def sorted_fusion(contributions: Mapping[str, list[float]]) -> list[tuple[str, float]]:
    """Sum each id's contributions and sort by score descending, then id ascending.

    ``math.fsum`` is exactly rounded, so the total does not depend on the order of the runs
    and two ids with the same contributions tie exactly (and then sort by id).
    """
    totals = [(doc_id, math.fsum(parts)) for doc_id, parts in contributions.items()]
    # two stable C-level sorts (id, then score with reverse=True, which keeps stability)
    # are about twice as fast as one sort on a (-score, id) tuple key
    totals.sort(key=itemgetter(0))
    totals.sort(key=itemgetter(1), reverse=True)
    return totals
