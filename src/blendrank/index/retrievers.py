"""The embedded index's first stages behind the :class:`~blendrank.retrieve.Retriever`
protocol: BM25 (with the exact-phrase rules), dense (exact cosine or HNSW; one per
embedding model) and BM42 learned sparse. Each applies the query's filter as a row mask
before ranking; the mask is computed once per query and shared by all of them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from blendrank.index.phrase import PHRASE_POOL, PhraseMatcher
from blendrank.index.segments import MultiBM25, MultiDense, MultiSparse
from blendrank.index.state import IndexState
from blendrank.retrieve.base import RetrieverBase, check_k
from blendrank.types import Hit, Query, Ranking, copy_metadata


class QueryMasks:
    """Row masks of query filters, the latest one remembered (BM25 and dense run with
    the same Query object one after the other)."""

    def __init__(self, evaluate: Callable[[Any], np.ndarray]) -> None:
        self._evaluate = evaluate
        self._lock = threading.Lock()
        self._last: tuple[Query, np.ndarray] | None = None

    def mask(self, query: Query) -> np.ndarray | None:
        if query.expression is None:
            return None
        last = self._last
        if last is not None and last[0] is query:
            return last[1]
        mask = self._evaluate(query.expression)
        with self._lock:
            self._last = (query, mask)
        return mask


def rows_ranking(
    state: IndexState, name: str, rows: np.ndarray, scores: np.ndarray, info: dict[str, Any]
) -> Ranking:
    """A ranking of index rows (chunks); hits are made only when read."""
    documents = state.documents
    # only these rows' fields: no per-state list of every row (a large index just
    # written to would build them on its first search)
    doc_of = state.doc_rows[rows].tolist()
    starts, ends = state.chunk_start[rows].tolist(), state.chunk_end[rows].tolist()
    numbers = state.chunk_n[rows].tolist()
    ids = [f"{documents[d].id}#{n}" for d, n in zip(doc_of, numbers, strict=True)]
    values = scores.astype(np.float64)
    score_list = values.tolist()

    def make(i: int, rank: int) -> Hit:
        doc = documents[doc_of[i]]
        start, end = starts[i], ends[i]
        score = score_list[i]
        return Hit(
            ids[i],
            doc.id,
            score,
            doc.text[start:end],
            doc.title,
            copy_metadata(doc.metadata),
            ids[i],
            start,
            end,
            {name: score},
            {name: rank},
        )

    return Ranking.lazy(ids, [documents[d].id for d in doc_of], values, make, info)


class IndexBM25(RetrieverBase):
    """BM25 over the index's chunks; a query of 2 to 8 words or with quoted phrases lifts
    verbatim matches among the top ``max(k, PHRASE_POOL)`` (``index/phrase.py``)."""

    name = "bm25"

    def __init__(
        self,
        state: IndexState,
        bm25: MultiBM25,
        phrase: PhraseMatcher,
        analyzer: Any,
        masks: QueryMasks,
    ) -> None:
        self.state, self.bm25, self.phrase, self.analyzer, self.masks = (
            state,
            bm25,
            phrase,
            analyzer,
            masks,
        )

    def retrieve(self, query: Query, k: int) -> Ranking:
        k = check_k(k)
        if self.state.n_rows == 0:
            return Ranking(info={"complete": True})
        start = time.perf_counter()
        mask = self.masks.mask(query)
        tokens = self.analyzer.analyze(query.text)
        depth = max(k, PHRASE_POOL) if self.phrase.phrases(query.text) else k
        rows, scores = self.bm25.search(tokens, depth, mask, self.state.tie_order)
        complete = len(rows) < depth and len(rows) <= k  # more than k fetched: more exist
        rows, scores = self.phrase.adjust(
            query.text, rows, scores, self._text, self._may_hold, self.state.tie_order
        )
        info = {"timings": {"bm25": time.perf_counter() - start}, "complete": complete}
        return rows_ranking(self.state, self.name, rows[:k], scores[:k], info)

    def _text(self, row: int) -> str:
        return self.state.row_text(row, self.phrase.title_in_chunks)

    def _may_hold(self, phrase: str, rows: np.ndarray) -> np.ndarray | None:
        """Rows holding every analysed term of an ASCII phrase (English analysis is word
        by word, so a verbatim occurrence has them all); None for other scripts, whose
        segmentation depends on the surrounding text."""
        if not phrase.isascii():
            return None
        # only plain word tokens: "e-4029" is indexed whole, so a row holding "E-4029-B"
        # (which the phrase rule matches) has "e", "4029" and "b" but no "e-4029"
        tokens = [t for t in self.analyzer.analyze(phrase) if t.isalnum()]
        return self.bm25.rows_holding(tokens, rows) if tokens else None


class IndexDense(RetrieverBase):
    """Nearest chunks by cosine of the query's embedding (``embedder``: the index's model)."""

    name = "dense"

    def __init__(
        self,
        state: IndexState,
        dense: MultiDense,
        embedder: Any,
        masks: QueryMasks,
        name: str = "dense",
    ) -> None:
        self.state, self.dense, self.embedder, self.masks = state, dense, embedder, masks
        self.name = name

    @property
    def _embed_stage(self) -> str:
        return "embed_query" if self.name == "dense" else f"embed_query_{self.name}"

    def retrieve(self, query: Query, k: int) -> Ranking:
        return self.retrieve_many([query], k)[0]

    def retrieve_many(self, queries: Sequence[Query], k: int) -> list[Ranking]:
        """Embeds every query in one batch, then searches each."""
        k = check_k(k)
        if not queries:
            return []
        if self.state.n_rows == 0:
            return [Ranking(info={"complete": True}) for _ in queries]
        start = time.perf_counter()
        vectors = self.embedder.embed_queries([q.text for q in queries])
        embed = (time.perf_counter() - start) / len(queries)
        out = []
        for query, vector in zip(queries, vectors, strict=True):
            start = time.perf_counter()
            mask = self.masks.mask(query)
            rows, scores = self.dense.search(vector, k, mask, tie_key=self.state.tie_order)
            seconds = time.perf_counter() - start
            info = {
                "timings": {self._embed_stage: embed, self.name: seconds},
                "complete": len(rows) < k,
            }
            out.append(rows_ranking(self.state, self.name, rows, scores, info))
        return out


class IndexSparse(RetrieverBase):
    """BM42: chunks ranked by the learned weights of the query's terms times their IDF
    over the index (``index/sparse.py``); ``encoder`` gives the query's terms."""

    name = "bm42"

    def __init__(
        self, state: IndexState, sparse: MultiSparse, encoder: Any, masks: QueryMasks, name: str
    ) -> None:
        self.state, self.sparse, self.encoder, self.masks = state, sparse, encoder, masks
        self.name = name

    def retrieve(self, query: Query, k: int) -> Ranking:
        k = check_k(k)
        if self.state.n_rows == 0:
            return Ranking(info={"complete": True})
        start = time.perf_counter()
        mask = self.masks.mask(query)
        terms = self.encoder.query_terms(query.text)
        rows, scores = self.sparse.search(terms, k, mask, self.state.tie_order)
        info = {"timings": {self.name: time.perf_counter() - start}, "complete": len(rows) < k}
        return rows_ranking(self.state, self.name, rows, scores, info)
