"""The query path of the embedded index, top to bottom:
retrievers (BM25, dense; same mask) -> fusion -> hits (per chunk or per document) -> reranker."""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass

import numpy as np

from blendrank.index.bm25 import BM25Retriever
from blendrank.index.dense import DenseRetriever
from blendrank.index.options import SearchOptions
from blendrank.index.phrase import PhraseMatcher
from blendrank.index.state import IndexState
from blendrank.types import Hit


@dataclass(frozen=True)
class Run:
    """One retriever's ranked rows (best first) and their scores."""

    rows: np.ndarray
    scores: np.ndarray


class HybridSearcher:
    def __init__(
        self,
        state: IndexState,
        bm25: BM25Retriever,
        dense: DenseRetriever | None,
        phrase: PhraseMatcher,
        analyzer,
        embedder_fingerprint=None,
    ):
        self.state = state
        self.bm25 = bm25
        self.dense = dense
        self.phrase = phrase
        self.analyzer = analyzer
        self._embedder_fingerprint = embedder_fingerprint  # callable: the index model's fingerprint

    def search(
        self,
        query: str,
        qvec: np.ndarray | None,
        mask: np.ndarray | None,
        opts: SearchOptions,
        timings: dict[str, float],
    ) -> list[Hit]:
        n_rows = self.state.n_rows
        if n_rows == 0:
            return []
        needed = opts.top_k if opts.rerank is None else max(opts.top_k, opts.rerank_candidates or opts.candidates)
        depth = min(opts.depth, n_rows)
        while True:
            runs = self._retrieve(query, qvec, mask, opts.mode, depth, timings)
            t0 = time.perf_counter()
            hits = self._fused_hits(runs, opts, needed)
            _add(timings, "fuse", t0)
            if len(hits) >= needed or depth >= n_rows:
                break
            depth = min(n_rows, depth * 4)  # per-document collapse ate candidates: go deeper
        if opts.rerank is not None and hits:
            t0 = time.perf_counter()
            hits = self._rerank(query, hits, opts)
            _add(timings, "rerank", t0)
        return hits[: opts.top_k]

    def _rerank(self, query: str, hits: list[Hit], opts: SearchOptions) -> list[Hit]:
        """Rerank; a reranker built on the index's own embedding model gets the stored
        chunk vectors instead of embedding the candidates again."""
        top_k = min(opts.top_k, len(hits))
        reranker = opts.rerank
        model = getattr(reranker, "embedder", None)
        if (
            self.dense is not None
            and model is not None
            and self._embedder_fingerprint is not None
            and "vectors" in inspect.signature(reranker.rerank_hits).parameters
            and getattr(model, "fingerprint", None) == self._embedder_fingerprint()
        ):
            rows = [self.state.row_of(h.chunk_id) for h in hits]
            vectors = np.asarray(self.dense.vectors[rows], dtype=np.float32)
            return reranker.rerank_hits(query, hits, top_k, vectors=vectors)
        return reranker.rerank_hits(query, hits, top_k)

    def _retrieve(
        self,
        query: str,
        qvec: np.ndarray | None,
        mask: np.ndarray | None,
        mode: str,
        depth: int,
        timings: dict[str, float],
    ) -> dict[str, Run]:
        runs: dict[str, Run] = {}
        if mode in ("hybrid", "bm25"):
            t0 = time.perf_counter()
            tokens = self.analyzer.analyze(query)
            rows, scores = self.bm25.search(tokens, depth, mask)
            texts = (self.state.row_text(int(r), self.phrase.title_in_chunks) for r in rows)
            rows, scores = self.phrase.adjust(query, rows, scores, texts)
            runs["bm25"] = Run(rows, scores)
            _add(timings, "bm25", t0)
        if mode in ("hybrid", "dense") and self.dense is not None and qvec is not None:
            t0 = time.perf_counter()
            rows, scores = self.dense.search(qvec, depth, mask)
            runs["dense"] = Run(rows, scores)
            _add(timings, "dense", t0)
        return runs

    def _fused_hits(self, runs: dict[str, Run], opts: SearchOptions, needed: int) -> list[Hit]:
        ids = self.state.chunk_ids
        if len(runs) == 1:
            (run,) = runs.values()
            fused = [(int(r), float(s)) for r, s in zip(run.rows, run.scores)]
        else:
            from blendrank.fuse import fuse

            named = {
                name: ([ids[r] for r in run.rows.tolist()], run.scores.tolist())
                for name, run in runs.items()
            }
            row_of = {ids[r]: r for run in runs.values() for r in run.rows.tolist()}
            fused = [
                (row_of[cid], score)
                for cid, score in fuse(opts.fusion, named, **opts.fusion_params())
            ]
        own = {
            name: {r: (float(s), rank) for rank, (r, s) in enumerate(zip(run.rows.tolist(), run.scores.tolist()), 1)}
            for name, run in runs.items()
        }
        return self._hits(fused, own, opts.per, needed)

    def _hits(
        self,
        fused: list[tuple[int, float]],
        own: dict[str, dict[int, tuple[float, int]]],
        per: str,
        needed: int,
    ) -> list[Hit]:
        state = self.state
        hits: list[Hit] = []
        seen_docs: set[int] = set()
        for rank, (row, score) in enumerate(fused, 1):
            doc_pos = int(state.doc_rows[row])
            if per == "document":
                if doc_pos in seen_docs:
                    continue
                seen_docs.add(doc_pos)
            chunk = state.chunk(row)
            scores = {name: own_run[row][0] for name, own_run in own.items() if row in own_run}
            ranks = {name: own_run[row][1] for name, own_run in own.items() if row in own_run}
            scores["fused"] = score
            ranks["fused"] = rank if per == "chunk" else len(hits) + 1
            hits.append(
                Hit(
                    id=chunk.doc_id if per == "document" else chunk.id,
                    doc_id=chunk.doc_id,
                    score=score,
                    text=chunk.text,
                    title=chunk.title,
                    metadata=chunk.metadata,
                    chunk_id=chunk.id,
                    start=chunk.start,
                    end=chunk.end,
                    scores=scores,
                    ranks=ranks,
                )
            )
            if len(hits) >= needed:
                break
        return hits


def _add(timings: dict[str, float], key: str, t0: float) -> None:
    timings[key] = timings.get(key, 0.0) + time.perf_counter() - t0
