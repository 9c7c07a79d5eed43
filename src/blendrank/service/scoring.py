"""How a served model scores a batch of requests, and a Reranker that scores through the
micro-batcher (so search with reranking shares model calls with the rerank endpoints).

A cross-encoder scores every request of a batch in one ``score_groups`` call, through its
score cache when it has one. Any other reranker runs its own ``rerank`` per request (its
ranking may differ from sorting ``score``: thresholds, MMR, selective skipping), one
request per call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from blendrank.rerank.base import Reranker, cache_key, ranked_order
from blendrank.service.batcher import BatchFunction, MicroBatcher
from blendrank.service.registry import ServedModel
from blendrank.service.scores import Ranking

if TYPE_CHECKING:
    from blendrank.service.metrics import ServiceMetrics


def ranking_from_scores(scores: np.ndarray) -> Ranking:
    """All documents best first (ties by input position, as ``Reranker.rerank``)."""
    order = ranked_order(scores)
    return Ranking(order, np.asarray(scores, dtype=np.float64)[order])


def _cross_encoder_batch(
    model: ServedModel, groups: list[tuple[str, list[str]]], metrics: ServiceMetrics | None
) -> list[Ranking]:
    reranker: Any = model.reranker
    cache = reranker.cache
    if cache is None:
        return [ranking_from_scores(s) for s in reranker.score_groups(groups)]
    fingerprint = reranker.fingerprint
    keys = [[cache_key(fingerprint, q, t) for t in texts] for q, texts in groups]
    found = [cache.get_many(k) for k in keys]
    missing = [[i for i, s in enumerate(f) if s is None] for f in found]
    todo = [(g, m) for g, m in enumerate(missing) if m]
    fresh = reranker.score_groups([(groups[g][0], [groups[g][1][i] for i in m]) for g, m in todo])
    scores = [np.array([0.0 if s is None else s for s in f], dtype=np.float32) for f in found]
    for (g, m), values in zip(todo, fresh, strict=True):
        scores[g][m] = values
        cache.put_many([keys[g][i] for i in m], np.asarray(values).tolist())
    if metrics is not None:
        misses = sum(len(m) for m in missing)
        metrics.cache(model.name, sum(len(k) for k in keys) - misses, misses)
    return [ranking_from_scores(s) for s in scores]


def _rerank_each(
    model: ServedModel, groups: list[tuple[str, list[str]]], metrics: ServiceMetrics | None
) -> list[Ranking]:
    out = []
    for query, texts in groups:
        results = model.reranker.rerank(query, texts)
        if metrics is not None and model.reranker.cache is not None:
            hits = int(results.info.get("cache_hits", 0))
            metrics.cache(model.name, hits, len(texts) - hits)
        order = np.array([r.index for r in results], dtype=np.int64)
        out.append(Ranking(order, np.array([r.score for r in results], dtype=np.float64)))
    return out


def batch_function(model: ServedModel, metrics: ServiceMetrics | None = None) -> BatchFunction:
    """The function the model's batcher calls with a list of (query, texts) groups."""
    if model.batched:
        return lambda groups: _cross_encoder_batch(model, groups, metrics)
    return lambda groups: _rerank_each(model, groups, metrics)


class BatchedReranker(Reranker):
    """A served cross-encoder seen as a plain :class:`Reranker` whose ``score`` queues on
    the model's micro-batcher. Call it from a worker thread, never from the event loop
    (it blocks until the loop has scored the request)."""

    def __init__(
        self,
        model: ServedModel,
        batcher: MicroBatcher,
        loop: asyncio.AbstractEventLoop,
        timeout: float,
    ) -> None:
        super().__init__(cache=None)  # the batcher's scorer uses the model's own cache
        self.name = model.reranker.name
        self._batcher = batcher
        self._loop = loop
        self._timeout = timeout

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        future = asyncio.run_coroutine_threadsafe(
            self._batcher.submit(query, list(texts), self._timeout), self._loop
        )
        ranking = future.result()
        return ranking.by_position(len(texts)).astype(np.float32)
