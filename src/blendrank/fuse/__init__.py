"""Score fusion: merge the ranked lists of several retrievers into one.

One file per method, each with one documented public function (formula and paper):
:func:`reciprocal_rank_fusion` (``rrf.py``), :func:`linear_fusion` (``linear.py``),
:func:`relative_score_fusion` (``relative_score.py``), :func:`distribution_based_fusion`
(``dbsf.py``); normalisers in ``normalize.py``. :func:`fuse` dispatches by name.

>>> runs = {"bm25": (["a", "b"], [12.0, 3.0]), "dense": (["b", "c"], [0.9, 0.8])}
>>> [doc_id for doc_id, _ in fuse("rrf", runs)]
['b', 'a', 'c']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.fuse._runs import ScoredRun, check_runs_mapping, ranked_by_score, scored_run
from blendrank.fuse.dbsf import distribution_based_fusion
from blendrank.fuse.linear import linear_fusion
from blendrank.fuse.normalize import minmax, normalize, zscore
from blendrank.fuse.relative_score import relative_score_fusion
from blendrank.fuse.rrf import reciprocal_rank_fusion

FUSION_METHODS = ("rrf", "linear", "relative_score", "dbsf")

_PARAMETERS: dict[str, tuple[str, ...]] = {
    "rrf": ("k", "weights"),
    "linear": ("weights", "normalization"),
    "relative_score": ("weights",),
    "dbsf": ("weights",),
}


def _rrf_on_scored(runs: Mapping[str, ScoredRun], **params: Any) -> list[tuple[str, float]]:
    check_runs_mapping(runs)
    ranked = {}
    for name, run in runs.items():
        ids, scores = scored_run(name, run)
        ranked[name] = ranked_by_score(ids, scores)
    return reciprocal_rank_fusion(ranked, **params)


_FUNCTIONS: dict[str, Callable[..., list[tuple[str, float]]]] = {
    "rrf": _rrf_on_scored,
    "linear": linear_fusion,
    "relative_score": relative_score_fusion,
    "dbsf": distribution_based_fusion,
}


def fuse(method: str, runs: Mapping[str, ScoredRun], **params: Any) -> list[tuple[str, float]]:
    """Fuse ``runs`` (retriever name -> ``(ids, scores)``) with the method named ``method``.

    ============== ========================== ============================================
    method         parameters                 function
    ============== ========================== ============================================
    rrf            ``k=60``, ``weights``      :func:`reciprocal_rank_fusion` (ranks taken
                                              by score, highest first; equal scores keep
                                              the given order)
    linear         ``weights``,               :func:`linear_fusion`
                   ``normalization="minmax"``
    relative_score ``weights``                :func:`relative_score_fusion`
    dbsf           ``weights``                :func:`distribution_based_fusion`
    ============== ========================== ============================================

    Weights default to 1.0 per run; each must be >= 0 and name one of the runs. Returns
    ``(id, score)`` pairs, score descending, ties broken by id ascending. Inputs are never
    modified.

    >>> fuse("linear", {"bm25": (["a", "b"], [2.0, 1.0])}, weights={"bm25": 0.5})
    [('a', 0.5), ('b', 0.0)]
    """
    if method not in _FUNCTIONS:
        raise InvalidInputError(
            f"unknown fusion method {method!r}; valid: {', '.join(map(repr, FUSION_METHODS))}"
        )
    allowed = _PARAMETERS[method]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidInputError(
            f"fusion method {method!r} takes no parameter {unknown[0]!r}; "
            f"valid parameters: {', '.join(allowed)}"
        )
    return _FUNCTIONS[method](runs, **params)


__all__ = [
    "FUSION_METHODS",
    "distribution_based_fusion",
    "fuse",
    "linear_fusion",
    "minmax",
    "normalize",
    "reciprocal_rank_fusion",
    "relative_score_fusion",
    "zscore",
]
