"""Hybrid retrieval: run named retrievers with the same query (and so the same filter),
then fuse their rankings into one (RRF, linear, relative score, DBSF; ``fuse/``).

Per document (``per="document"``), each retriever's ranking is first collapsed to the
best chunk of every document, so a document whose best BM25 chunk and best dense chunk
differ is still one candidate that both retrievers vote for.

>>> from blendrank.retrieve.base import RetrieverBase
>>> from blendrank.types import Hit, Query, Ranking
>>> class Fixed(RetrieverBase):
...     def __init__(self, name, ids):
...         self.name, self.ids = name, ids
...     def retrieve(self, query, k):
...         return Ranking(Hit(d, d, 1.0 / (n + 1), d) for n, d in enumerate(self.ids)).top(k)
>>> hybrid = HybridRetriever([Fixed("bm25", ["a", "b"]), Fixed("dense", ["b", "c"])])
>>> hybrid.retrieve(Query("q"), 3).ids
('b', 'a', 'c')
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from blendrank.errors import InvalidInputError
from blendrank.fuse import FUSION_METHODS, fuse
from blendrank.fuse._runs import check_weights
from blendrank.fuse.normalize import NORMALIZATIONS
from blendrank.retrieve.base import Retriever, RetrieverBase, check_k
from blendrank.types import Hit, Query, Ranking

PER = ("chunk", "document")


class HybridRetriever(RetrieverBase):
    """Named retrievers fused into one ranking.

    ``retrievers``: a list (each named by its ``name``) or a dict name -> retriever.
    ``weights`` are keyed by those names (default 1.0 each). With several retrievers each
    is asked for ``max(k, depth)`` candidates, since fusion needs a deep pool; one alone
    is asked for ``k`` and its ranking is returned as is. With several, each hit keeps
    every retriever's score and rank in ``scores``/``ranks`` and adds ``"fused"``.
    """

    def __init__(
        self,
        retrievers: Sequence[Retriever] | Mapping[str, Retriever],
        fusion: str = "rrf",
        *,
        weights: Mapping[str, float] | None = None,
        rrf_k: int = 60,
        normalization: str = "minmax",
        per: str = "chunk",
        depth: int = 100,
        name: str = "hybrid",
    ) -> None:
        self.retrievers = _named(retrievers)
        if fusion not in FUSION_METHODS:
            raise InvalidInputError(
                f"fusion must be one of {', '.join(FUSION_METHODS)}; got {fusion!r}"
            )
        if normalization not in NORMALIZATIONS:
            raise InvalidInputError(
                f"normalization must be one of {', '.join(NORMALIZATIONS)}; got {normalization!r}"
            )
        if per not in PER:
            raise InvalidInputError(f"per must be one of {', '.join(PER)}; got {per!r}")
        if isinstance(rrf_k, bool) or not isinstance(rrf_k, int) or rrf_k < 1:
            raise InvalidInputError(f"rrf_k must be an integer >= 1, got {rrf_k!r}")
        check_weights(weights, self.retrievers)
        self.fusion = fusion
        self.weights = None if weights is None else dict(weights)
        self.rrf_k = rrf_k
        self.normalization = normalization
        self.per = per
        self.depth = check_k(depth)
        self.name = name

    def _depth(self, k: int) -> int:
        return k if len(self.retrievers) == 1 else max(k, self.depth)

    def retrieve(self, query: Query, k: int) -> Ranking:
        k = check_k(k)
        depth = self._depth(k)
        timings: dict[str, float] = {}
        rankings = {}
        for name, retriever in self.retrievers.items():
            start = time.perf_counter()
            rankings[name] = retriever.retrieve(query, depth)
            _merge_timings(timings, name, rankings[name], time.perf_counter() - start)
        return self.fuse(rankings, k, depth, timings)

    def retrieve_many(self, queries: Sequence[Query], k: int) -> list[Ranking]:
        k = check_k(k)
        depth = self._depth(k)
        per_query: list[dict[str, float]] = [{} for _ in queries]
        columns = {}
        for name, retriever in self.retrievers.items():
            start = time.perf_counter()
            columns[name] = retriever.retrieve_many(queries, depth)
            share = (time.perf_counter() - start) / max(1, len(queries))
            for timings, ranking in zip(per_query, columns[name], strict=True):
                _merge_timings(timings, name, ranking, share)
        return [
            self.fuse({name: column[i] for name, column in columns.items()}, k, depth, timings)
            for i, timings in enumerate(per_query)
        ]

    def fuse(
        self, rankings: Mapping[str, Ranking], k: int, depth: int, timings: dict[str, float]
    ) -> Ranking:
        """The fused top ``k`` of the retrievers' rankings (each asked for ``depth``)."""
        start = time.perf_counter()
        complete = all(r.info.get("complete", len(r) < depth) for r in rankings.values())
        if self.per == "document":
            rankings = {name: r.per_document() for name, r in rankings.items()}
        if len(rankings) == 1:  # nothing to fuse: the retriever's order is the answer
            ((only,),) = (rankings.values(),)
            fused, total = only.top(k), len(only)
        else:
            fused, total = self._fused(rankings, k)
        complete = complete and total <= k  # a cut at k leaves more behind
        timings["fuse"] = timings.get("fuse", 0.0) + time.perf_counter() - start
        fused.info.update(timings=timings, complete=complete)
        return fused

    def _parameters(self) -> dict[str, Any]:
        if self.fusion == "rrf":
            return {"k": self.rrf_k, "weights": self.weights}
        if self.fusion == "linear":
            return {"weights": self.weights, "normalization": self.normalization}
        return {"weights": self.weights}

    def _fused(self, rankings: Mapping[str, Ranking], k: int) -> tuple[Ranking, int]:
        """The fused top ``k`` and how many candidates the fusion had."""
        runs = {name: (r.ids, r.scores.tolist()) for name, r in rankings.items()}
        every = fuse(self.fusion, runs, **self._parameters())
        fused = every[:k]
        where = {name: {key: p for p, key in enumerate(r.ids)} for name, r in rankings.items()}
        entries: list[list[tuple[str, int]]] = []
        doc_ids = []
        for key, _ in fused:
            found = [(name, at[key]) for name, at in where.items() if key in at]
            best_name, best_position = min(found, key=lambda e: e[1])  # the best-ranked chunk
            entries.append(found)
            doc_ids.append(rankings[best_name].doc_ids[best_position])

        def make(i: int, rank: int) -> Hit:
            found = entries[i]
            best_name, best_position = min(found, key=lambda e: e[1])
            hit = rankings[best_name][best_position]
            scores = {n: v for n, v in hit.scores.items() if n != "fused"}
            ranks = {n: v for n, v in hit.ranks.items() if n != "fused"}
            for name, position in found:
                scores[name] = float(rankings[name].scores[position])
                ranks[name] = position + 1
            key, score = fused[i]
            scores["fused"], ranks["fused"] = score, rank
            return hit.but(id=key, score=score, scores=scores, ranks=ranks)

        scores = np.array([s for _, s in fused], dtype=np.float64)
        return Ranking.lazy([key for key, _ in fused], doc_ids, scores, make), len(every)


def _merge_timings(timings: dict[str, float], name: str, ranking: Ranking, seconds: float) -> None:
    """A retriever's own stage timings when it reports them, else its wall time."""
    own = ranking.info.get("timings")
    for stage, value in own.items() if isinstance(own, Mapping) else [(name, seconds)]:
        timings[stage] = timings.get(stage, 0.0) + float(value)


def _named(retrievers: Sequence[Retriever] | Mapping[str, Retriever]) -> dict[str, Retriever]:
    if isinstance(retrievers, Mapping):
        named = dict(retrievers)
    elif isinstance(retrievers, Sequence) and not isinstance(retrievers, str):
        named = {}
        for retriever in retrievers:
            name = getattr(retriever, "name", None)
            if not isinstance(name, str) or not name:
                raise InvalidInputError(
                    f"retriever {retriever!r} has no name; pass a dict name -> retriever"
                )
            if name in named:
                raise InvalidInputError(
                    f"two retrievers are named {name!r}; pass a dict to give them distinct names"
                )
            named[name] = retriever
    else:
        raise InvalidInputError(
            "retrievers must be a list of retrievers or a dict name -> retriever"
        )
    if not named:
        raise InvalidInputError("HybridRetriever needs at least one retriever")
    for name, retriever in named.items():
        if not isinstance(name, str) or not name or name == "fused":
            raise InvalidInputError(
                f"retriever names must be non-empty strings other than 'fused', got {name!r}"
            )
        if not callable(getattr(retriever, "retrieve", None)) or not callable(
            getattr(retriever, "retrieve_many", None)
        ):
            raise InvalidInputError(
                f"retriever {name!r} is a {type(retriever).__name__}, which has no "
                "retrieve(query, k) and retrieve_many(queries, k); subclass RetrieverBase"
            )
    return named
