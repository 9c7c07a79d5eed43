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
from blendrank.index.phrase import PHRASE_POOL, PhraseMatcher
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
        needed = (
            opts.top_k
            if opts.rerank is None
            else max(opts.top_k, opts.rerank_candidates or opts.candidates)
        )
        # fusion and reranking need a deep pool; one retriever alone needs only what it returns
        single = opts.mode != "hybrid" and opts.rerank is None
        depth = min(needed if single else opts.depth, n_rows)
        while True:
            runs = self._retrieve(query, qvec, mask, opts, depth, timings)
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
            rows = self.state.rows_of([h.chunk_id for h in hits])
            vectors = np.asarray(self.dense.vectors[rows], dtype=np.float32)
            return reranker.rerank_hits(query, hits, top_k, vectors=vectors)
        return reranker.rerank_hits(query, hits, top_k)

    def _retrieve(
        self,
        query: str,
        qvec: np.ndarray | None,
        mask: np.ndarray | None,
        opts: SearchOptions,
        depth: int,
        timings: dict[str, float],
    ) -> dict[str, Run]:
        runs: dict[str, Run] = {}
        mode = opts.mode
        if mode in ("hybrid", "bm25"):
            t0 = time.perf_counter()
            tokens = self.analyzer.analyze(query)
            # the phrase rules may lift a verbatim match from deep in the list
            bm25_depth = max(depth, PHRASE_POOL) if self.phrase.phrases(query) else depth
            rows, scores = self.bm25.search(tokens, bm25_depth, mask)
            texts = (self.state.row_text(int(r), self.phrase.title_in_chunks) for r in rows)
            rows, scores = self.phrase.adjust(query, rows, scores, texts)
            runs["bm25"] = Run(
                rows[:depth] if mode == "bm25" else rows,
                scores[:depth] if mode == "bm25" else scores,
            )
            _add(timings, "bm25", t0)
        if mode in ("hybrid", "dense") and self.dense is not None and qvec is not None:
            t0 = time.perf_counter()
            rows, scores = self.dense.search(qvec, depth, mask)
            runs["dense"] = Run(rows, scores)
            _add(timings, "dense", t0)
        return runs

    def _fused_hits(self, runs: dict[str, Run], opts: SearchOptions, needed: int) -> list[Hit]:
        """Fuse the runs into hits. Per document, each run is first collapsed to its best
        chunk of every document, so a document whose best BM25 chunk and best dense chunk
        differ is still one candidate that both retrievers vote for."""
        per_doc = opts.per == "document"
        if len(runs) == 1 and not per_doc:  # one retriever, per chunk: its order is the answer
            ((name, run),) = runs.items()
            ids = self.state.chunk_ids
            top = zip(run.rows[:needed].tolist(), run.scores[:needed].tolist(), strict=True)
            return [
                self._hit(row, ids[row], score, rank, {name: (row, score, rank)})
                for rank, (row, score) in enumerate(top, 1)
            ]
        if per_doc:
            runs = {name: self._best_chunk_per_document(run) for name, run in runs.items()}
        key_of = self._document_ids if per_doc else self.state.chunk_ids.__getitem__
        own: dict[str, dict[str, tuple[int, float, int]]] = {}  # run -> key -> (row, score, rank)
        for name, run in runs.items():
            rows, scores = run.rows.tolist(), run.scores.tolist()
            own[name] = {
                key_of(r): (r, s, n) for n, (r, s) in enumerate(zip(rows, scores, strict=True), 1)
            }
        if len(own) == 1:
            (entries,) = own.values()
            fused = [(key, score) for key, (_row, score, _rank) in entries.items()]
        else:
            from blendrank.fuse import fuse

            named = {
                name: (list(entries), [e[1] for e in entries.values()])
                for name, entries in own.items()
            }
            fused = fuse(opts.fusion, named, **opts.fusion_params())
        hits = []
        for rank, (key, score) in enumerate(fused[:needed], 1):
            entries = {name: e[key] for name, e in own.items() if key in e}
            row = min(entries.values(), key=lambda e: e[2])[0]  # the best-ranked chunk
            hits.append(self._hit(row, key, score, rank, entries))
        return hits

    def _document_ids(self, row: int) -> str:
        return self.state.documents[int(self.state.doc_rows[row])].id

    def _best_chunk_per_document(self, run: Run) -> Run:
        """Keep each document's first (best) row of a run, in run order."""
        _, first = np.unique(self.state.doc_rows[run.rows], return_index=True)
        keep = np.sort(first)
        return Run(run.rows[keep], run.scores[keep])

    def _hit(self, row: int, key: str, score: float, rank: int, entries: dict) -> Hit:
        chunk = self.state.chunk(row)
        scores = {name: e[1] for name, e in entries.items()}
        ranks = {name: e[2] for name, e in entries.items()}
        scores["fused"] = score
        ranks["fused"] = rank
        return Hit(
            id=key,
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


def _add(timings: dict[str, float], key: str, t0: float) -> None:
    timings[key] = timings.get(key, 0.0) + time.perf_counter() - t0
