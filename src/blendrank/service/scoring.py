"""How a served model scores a batch of requests.

A model that declares ``supports_groups`` (a cross-encoder) scores every request of a
batch in one call, through its score cache when it has one. Any other reranker runs its
own ranking per request (it may differ from sorting scores: thresholds, MMR, selective
skipping), one request per call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from blendrank.rerank.base import ranked_order, ranking_by_position
from blendrank.service.batcher import BatchFunction
from blendrank.service.registry import ServedModel
from blendrank.types import Ranking

if TYPE_CHECKING:
    from blendrank.service.metrics import ServiceMetrics


def ranking_from_scores(scores: np.ndarray) -> Ranking:
    """All documents best first (ties by input position, as ``rf(query, documents)``)."""
    order = ranked_order(scores)
    return ranking_by_position(order.tolist(), np.asarray(scores, dtype=np.float64)[order])


def _grouped_batch(
    model: ServedModel, groups: list[tuple[str, list[str]]], metrics: ServiceMetrics | None
) -> list[Ranking]:
    scored = model.reranker.score_cached(groups)
    if metrics is not None and model.reranker.cache is not None:
        hits = int(scored.info.get("cache_hits", 0))
        metrics.cache(model.name, hits, sum(len(texts) for _, texts in groups) - hits)
    return [ranking_from_scores(s) for s in scored]


def _rerank_each(
    model: ServedModel, groups: list[tuple[str, list[str]]], metrics: ServiceMetrics | None
) -> list[Ranking]:
    out = []
    for query, texts in groups:
        results = model.reranker(query, texts)
        if metrics is not None and model.reranker.cache is not None:
            hits = int(results.info.get("cache_hits", 0))
            metrics.cache(model.name, hits, len(texts) - hits)
        out.append(ranking_by_position([r.index for r in results], [r.score for r in results]))
    return out


def batch_function(model: ServedModel, metrics: ServiceMetrics | None = None) -> BatchFunction:
    """The function the model's batcher calls with a list of (query, texts) groups."""
    if model.batched:
        return lambda groups: _grouped_batch(model, groups, metrics)
    return lambda groups: _rerank_each(model, groups, metrics)
