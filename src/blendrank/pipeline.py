"""Two-stage retrieval as one object: a first stage (any :class:`Retriever`), an optional
reranker, and how many candidates pass between them. The path of a query reads top to
bottom::

    Pipeline.run(query, top_k)
      -> retriever.retrieve(query, k) -> Ranking     (one retriever, or HybridRetriever:
                                                      named retrievers -> fuse -> Ranking)
      -> (per document: each document's best chunk)
      -> reranker.rerank(query, candidates, top_k) -> Ranking
      -> PipelineResult(first_stage, final, timings)

>>> from blendrank.retrieve import RetrieverBase
>>> from blendrank.types import Hit, Ranking
>>> class Words(RetrieverBase):
...     name = "words"
...     def retrieve(self, query, k):
...         docs = {"a": "cats purr", "b": "dogs bark", "c": "cats and dogs"}
...         hits = [Hit(i, i, float(sum(w in t for w in query.text.split())), t)
...                 for i, t in docs.items()]
...         return Ranking(hits).top(k)
>>> Pipeline(Words()).run("cats dogs", top_k=2).final.ids
('c', 'a')
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.rerank.base import Reranker
from blendrank.retrieve.base import Retriever, check_k
from blendrank.retrieve.hybrid import PER
from blendrank.types import Hit, Query, Ranking


@dataclass(frozen=True)
class StoredVectors:
    """Where a reranker that reads embeddings can get the candidates' stored ones:
    ``lookup(hits)`` returns one row per hit, made by the model ``fingerprint``."""

    fingerprint: str
    lookup: Callable[[Sequence[Hit]], np.ndarray]


@dataclass(frozen=True)
class PipelineResult:
    """What one query went through: the first-stage candidates (the reranker's input,
    or the final list's source), the final ranking and seconds per stage."""

    query: Query
    first_stage: Ranking
    final: Ranking
    timings: dict[str, float] = field(default_factory=dict)


class Pipeline:
    """``retriever``, then ``reranker`` (optional) on the first stage's top
    ``rerank_candidates`` (default ``candidates``); ``per="document"`` keeps each
    document's best chunk before reranking, retrieving deeper when chunks of the same
    documents crowd the list. ``stored_vectors`` lets a reranker that reads embeddings of
    the same model score stored ones instead of embedding the candidates again."""

    def __init__(
        self,
        retriever: Retriever,
        reranker: Reranker | None = None,
        *,
        candidates: int = 100,
        rerank_candidates: int | None = None,
        per: str = "chunk",
        stored_vectors: StoredVectors | None = None,
    ) -> None:
        if not callable(getattr(retriever, "retrieve", None)):
            raise InvalidInputError(
                f"retriever must implement retrieve(query, k) and retrieve_many(queries, k) "
                f"(subclass blendrank.retrieve.RetrieverBase); got {type(retriever).__name__}"
            )
        if reranker is not None and not isinstance(reranker, Reranker):
            raise InvalidInputError(
                "rerank must be a blendrank Reranker (e.g. blendrank.rerank.load_reranker(...)), "
                f"got {type(reranker).__name__}"
            )
        if per not in PER:
            raise InvalidInputError(f"per must be one of {', '.join(PER)}; got {per!r}")
        self.retriever = retriever
        self.reranker = reranker
        self.candidates = check_k(candidates)
        self.rerank_candidates = None if rerank_candidates is None else check_k(rerank_candidates)
        self.per = per
        self.stored_vectors = stored_vectors

    def needed(self, top_k: int) -> int:
        """How many first-stage candidates a query of ``top_k`` results needs."""
        if self.reranker is None:
            return top_k
        return max(top_k, self.rerank_candidates or self.candidates)

    def run(self, query: Query | str, top_k: int = 10) -> PipelineResult:
        """Search one query (a string or a :class:`Query` with its filter)."""
        query = Query.of(query)
        top_k = check_k(top_k)
        timings: dict[str, float] = {}
        first = self.first_stage(query, top_k, timings)
        return PipelineResult(
            query, first, self.second_stage(query, first, top_k, timings), timings
        )

    def run_many(self, queries: Sequence[Query | str], top_k: int = 10) -> list[PipelineResult]:
        """:meth:`run` for many queries; the retriever gets them as one batch (a dense
        retriever embeds them together)."""
        batch = [Query.of(q) for q in queries]
        top_k = check_k(top_k)
        if not batch:
            return []
        needed = self.needed(top_k)
        rankings = self.retriever.retrieve_many(batch, needed)
        out = []
        for query, ranking in zip(batch, rankings, strict=True):
            timings: dict[str, float] = {}
            _add_timings(timings, ranking.info)
            first = self._enough(query, ranking, needed, timings)
            out.append(
                PipelineResult(
                    query, first, self.second_stage(query, first, top_k, timings), timings
                )
            )
        return out

    def first_stage(self, query: Query, top_k: int, timings: dict[str, float]) -> Ranking:
        """The candidates of ``query``: the retriever's top ``needed(top_k)`` (per document
        when asked), retrieving deeper while documents' chunks crowd the list."""
        needed = self.needed(top_k)
        ranking = self.retriever.retrieve(query, needed)
        _add_timings(timings, ranking.info)
        return self._enough(query, ranking, needed, timings)

    def _enough(
        self, query: Query, ranking: Ranking, needed: int, timings: dict[str, float]
    ) -> Ranking:
        k = needed
        while True:
            found = ranking.per_document() if self.per == "document" else ranking
            if len(found) >= needed or ranking.info.get("complete", len(ranking) < k):
                return found.top(needed)
            k *= 4
            ranking = self.retriever.retrieve(query, k)
            _add_timings(timings, ranking.info)

    def second_stage(
        self, query: Query, first: Ranking, top_k: int, timings: dict[str, float]
    ) -> Ranking:
        """The final ranking: ``first``'s top ``top_k``, or the reranker's."""
        if self.reranker is None or not len(first):
            return first.top(top_k)
        start = time.perf_counter()
        vectors = None
        stored = self.stored_vectors
        if (
            stored is not None
            and self.reranker.uses_vectors
            and self.reranker.vector_model == stored.fingerprint
        ):
            vectors = stored.lookup(first)
        final = self.reranker.rerank(query, first, min(top_k, len(first)), vectors=vectors)
        timings["rerank"] = timings.get("rerank", 0.0) + time.perf_counter() - start
        return final.top(top_k)


def _add_timings(timings: dict[str, float], info: Mapping[str, Any]) -> None:
    own = info.get("timings")
    if isinstance(own, Mapping):
        for stage, seconds in own.items():
            timings[stage] = timings.get(stage, 0.0) + float(seconds)
