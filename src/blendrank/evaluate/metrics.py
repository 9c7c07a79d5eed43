"""Retrieval metrics, computed by ranx (not hand-written), kept per query.

Names: ``ndcg@k`` (graded gains, Järvelin-Kekäläinen linear gain, as trec_eval's
``ndcg_cut``), ``mrr@k``, ``hit_rate@k``, ``recall@k``, ``precision@k``, ``map`` /
``map@k``; ``mrr``, ``recall``, ``precision`` and ``hit_rate`` without ``@k`` look at the
whole ranking.

Binary metrics (all but ``ndcg``) count a document as relevant when its grade is
``>= relevance_level`` (default 1; TREC DL convention is 2). ranx supports this with its
``-l<level>`` metric suffix, which is what we pass; nDCG always uses the full grades.

Run order is rank order: ranx receives strictly decreasing synthetic scores
(``len - position``), so ties in the system's own scores are resolved exactly as the
system (or :func:`~blendrank.evaluate.datasets.trec_order`) resolved them.

>>> r = evaluate_ranking({"q": {"d1": 1}}, {"q": [("d2", 0.9), ("d1", 0.5)]}, ["mrr@10"])
>>> r.mean["mrr@10"]
0.5
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from blendrank._optional import require
from blendrank.errors import InvalidInputError
from blendrank.evaluate.datasets import Run

#: metric family -> (ranx name, binary?, needs @k?)
FAMILIES: dict[str, tuple[str, bool, bool]] = {
    "ndcg": ("ndcg", False, False),
    "mrr": ("mrr", True, False),
    "hit_rate": ("hit_rate", True, False),
    "recall": ("recall", True, False),
    "precision": ("precision", True, False),
    "map": ("map", True, False),
}

DEFAULT_METRICS: tuple[str, ...] = (
    "ndcg@1",
    "ndcg@3",
    "ndcg@5",
    "ndcg@10",
    "mrr@10",
    "hit_rate@1",
    "hit_rate@5",
    "hit_rate@10",
    "recall@10",
    "recall@100",
    "map",
)

_NAME = re.compile(r"^(?P<family>[a-z_]+)(?:@(?P<k>\d+))?$")


def validate_metric(name: str) -> str:
    """Return ``name`` normalised (lower case) or raise listing the valid metrics.

    >>> validate_metric("NDCG@10")
    'ndcg@10'
    """
    if not isinstance(name, str):
        raise InvalidInputError(f"a metric name must be a string, got {name!r}")
    clean = name.strip().lower()
    match = _NAME.match(clean)
    if (
        not match
        or match["family"] not in FAMILIES
        or (match["k"] is not None and int(match["k"]) < 1)
    ):
        valid = ", ".join(f"{f}@k" if f != "map" else "map, map@k" for f in FAMILIES)
        raise InvalidInputError(
            f"unknown metric {name!r}; valid metrics: {valid} (k an integer >= 1, "
            f"e.g. ndcg@10, recall@100, mrr@10)"
        )
    return clean


def validate_metrics(names: Sequence[str] | str) -> list[str]:
    """Validate a list of names (duplicates dropped, order kept)."""
    if isinstance(names, str):
        names = [n for n in names.replace(",", " ").split() if n]
    out: list[str] = []
    for name in names:
        clean = validate_metric(name)
        if clean not in out:
            out.append(clean)
    if not out:
        raise InvalidInputError("no metric given; e.g. metrics: [ndcg@10, recall@100]")
    return out


def ranx_name(metric: str, relevance_level: int = 1) -> str:
    """The ranx spelling of ``metric`` at a binary relevance level.

    >>> ranx_name("recall@100", 2), ranx_name("ndcg@10", 2)
    ('recall@100-l2', 'ndcg@10')
    """
    match = _NAME.match(validate_metric(metric))
    assert match is not None
    base, binary, _ = FAMILIES[match["family"]]
    name = base if match["k"] is None else f"{base}@{match['k']}"
    return f"{name}-l{relevance_level}" if binary and relevance_level != 1 else name


@dataclass(frozen=True)
class MetricResult:
    """Per-query values ``per_query[metric][qid]`` and their means ``mean[metric]``.

    ``query_ids`` is the evaluated query set (the qrels queries, in dataset order);
    a query the system returned nothing for scores 0.
    """

    metrics: tuple[str, ...]
    query_ids: tuple[str, ...]
    per_query: dict[str, dict[str, float]]
    mean: dict[str, float]
    relevance_level: int = 1

    def vector(self, metric: str) -> np.ndarray:
        """Per-query values of ``metric`` as an array in ``query_ids`` order."""
        if metric not in self.per_query:
            raise InvalidInputError(
                f"metric {metric!r} was not computed; computed: {', '.join(self.metrics)}"
            )
        values = self.per_query[metric]
        return np.array([values[q] for q in self.query_ids], dtype=np.float64)


def evaluate_ranking(
    qrels: Mapping[str, Mapping[str, int]],
    ranking: Run,
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    relevance_level: int = 1,
) -> MetricResult:
    """Score ``ranking`` ({qid: [(doc_id, score)] best first}) against graded ``qrels``.

    Every qrels query is evaluated; run queries absent from the qrels are ignored.
    """
    names = validate_metrics(metrics)
    if (
        isinstance(relevance_level, bool)
        or not isinstance(relevance_level, int)
        or relevance_level < 1
    ):
        raise InvalidInputError(f"relevance_level must be an integer >= 1, got {relevance_level!r}")
    if not qrels:
        raise InvalidInputError("qrels is empty: there is nothing to evaluate against")
    if not ranking or not any(ranking.values()):
        raise InvalidInputError("the run is empty: no query has any result")
    query_ids = tuple(qrels)
    run_dict = {q: _synthetic_scores(ranking.get(q, [])) for q in query_ids}
    ranx_names = {m: ranx_name(m, relevance_level) for m in names}
    raw = _ranx_evaluate(
        {q: dict(docs) for q, docs in qrels.items()}, run_dict, list(ranx_names.values())
    )
    per_query = {m: {q: float(raw[ranx_names[m]][q]) for q in query_ids} for m in names}
    mean = {m: float(np.mean([per_query[m][q] for q in query_ids])) for m in names}
    return MetricResult(tuple(names), query_ids, per_query, mean, relevance_level)


def _synthetic_scores(docs: Sequence[tuple[str, float]]) -> dict[str, float]:
    """Rank order as strictly decreasing scores; a repeated doc keeps its first rank."""
    out: dict[str, float] = {}
    n = len(docs)
    for position, (doc_id, _) in enumerate(docs):
        out.setdefault(doc_id, float(n - position))
    return out


def _ranx_evaluate(
    qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]], names: list[str]
) -> dict[str, dict[str, float]]:
    ranx = require("ranx", "eval", "evaluation metrics")
    ranx_qrels = ranx.Qrels(qrels)
    ranx_run = ranx.Run(run).make_comparable(ranx_qrels)
    with warnings.catch_warnings():
        # numba's "unsafe cast from uint64 to int64" notice inside ranx is harmless.
        warnings.filterwarnings("ignore", message=".*unsafe cast.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        ranx.evaluate(ranx_qrels, ranx_run, names, save_results_in_run=True)
    return {name: dict(ranx_run.scores[name]) for name in names}
