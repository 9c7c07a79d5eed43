"""Segments: how an index grows without rebuilding what it holds.

A write adds one immutable segment (its documents and chunk rows, BM25 postings, vectors,
ANN graph and extra retrievers' data); a delete, or the update of a document, marks the
old copy dead in a tombstone list; a merge replaces segments by one holding their live
documents. A :class:`SegmentView` shows the live documents of all segments, in segment
order, as one :class:`~blendrank.index.state.IndexState`, so everything above the
retrievers (hits, filters, ``get``) sees one index; its rows ("combined rows") map to
each segment's own rows through ``global_rows``.

The retrievers here search every segment and merge the lists:

- :class:`MultiBM25` computes BM25 with the statistics of all live chunks (N, df,
  average length), so its scores equal those of one index rebuilt from scratch;
- :class:`MultiDense` asks each segment for its ``k`` best (exact or HNSW) and keeps the
  best ``k`` of the union;
- :class:`MultiSparse` (BM42) takes the IDF over all live chunks, like BM25.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from blendrank.index.bm25 import TermPostings, bm25_idf, bm25_tf
from blendrank.index.dense import DenseRetriever
from blendrank.index.sparse import SparseIndex
from blendrank.index.state import IndexState
from blendrank.index.topk import top_k_indices


@dataclass(frozen=True)
class Segment:
    """One segment as loaded: ``dead`` marks its deleted documents (by position)."""

    name: str
    state: IndexState
    postings: TermPostings
    dense: DenseRetriever | None
    extra: Mapping[str, Any]
    dead: np.ndarray

    @property
    def n_live_rows(self) -> int:
        if not self.dead.any():
            return self.state.n_rows
        return int(np.count_nonzero(~self.dead[self.state.doc_rows]))

    @property
    def live_rows(self) -> np.ndarray:
        """This segment's rows whose document is not deleted, ascending."""
        if not self.dead.any():
            return np.arange(self.state.n_rows, dtype=np.int64)
        return np.flatnonzero(~self.dead[self.state.doc_rows])

    def with_dead(self, positions: Sequence[int]) -> Segment:
        dead = self.dead.copy()
        dead[list(positions)] = True
        return replace(self, dead=dead)

    def data(self, key: str) -> Any:
        """The dense vectors (``"dense"``) or an extra retriever's data."""
        return self.dense if key == "dense" else self.extra[key]


class SegmentView:
    """The live documents of ``segments`` as one state, and the row maps."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.segments = list(segments)
        documents: list[Any] = []
        doc_rows, chunk_n, starts, ends, global_rows = [], [], [], [], []
        doc_base = row_base = 0
        for seg in self.segments:
            st = seg.state
            if not seg.dead.any():
                documents.extend(st.documents)
                doc_rows.append(st.doc_rows.astype(np.int64) + doc_base)
                chunk_n.append(st.chunk_n)
                starts.append(st.chunk_start)
                ends.append(st.chunk_end)
                global_rows.append(np.arange(st.n_rows, dtype=np.int64) + row_base)
                doc_base += len(st.documents)
                row_base += st.n_rows
                continue
            alive = ~seg.dead
            documents.extend(map(st.documents.__getitem__, np.flatnonzero(alive).tolist()))
            new_pos = np.full(len(st.documents), -1, dtype=np.int64)
            new_pos[alive] = doc_base + np.arange(int(alive.sum()))
            live = alive[st.doc_rows]
            g = np.full(st.n_rows, -1, dtype=np.int64)
            count = int(live.sum())
            g[live] = row_base + np.arange(count)
            doc_rows.append(new_pos[st.doc_rows[live]])
            chunk_n.append(st.chunk_n[live])
            starts.append(st.chunk_start[live])
            ends.append(st.chunk_end[live])
            global_rows.append(g)
            doc_base += int(alive.sum())
            row_base += count
        self.global_rows = global_rows
        self.state = IndexState(
            documents,
            positions=CombinedPositions(self.segments),
            doc_rows=_joined(doc_rows, np.int32),
            chunk_n=_joined(chunk_n, np.int32),
            chunk_start=_joined(starts, np.int64),
            chunk_end=_joined(ends, np.int64),
        )
        self._alive: list[np.ndarray | None] = [
            None if not seg.dead.any() else g >= 0
            for seg, g in zip(self.segments, global_rows, strict=True)
        ]
        self._locals: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_rows(self) -> int:
        return self.state.n_rows

    def local_mask(self, s: int, mask: np.ndarray | None) -> np.ndarray | None:
        """Segment ``s``'s rows allowed by ``mask`` (over combined rows) and alive."""
        alive = self._alive[s]
        if mask is None:
            return alive
        g = self.global_rows[s]
        if alive is None:
            return mask[g]
        out = np.zeros(len(g), dtype=bool)
        out[alive] = mask[g[alive]]
        return out

    def local_key(self, s: int) -> LocalRanks:
        """The combined state's tie order of segment ``s``'s rows."""
        return LocalRanks(self.state.tie_order, self.global_rows[s])

    def locate_documents(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(segment, document position in it) of combined document positions."""
        seg_of, local_of = [], []
        for s, seg in enumerate(self.segments):
            alive = np.flatnonzero(~seg.dead)
            seg_of.append(np.full(len(alive), s, dtype=np.int64))
            local_of.append(alive)
        seg_arr, local_arr = _joined(seg_of, np.int64), _joined(local_of, np.int64)
        return seg_arr[positions], local_arr[positions]

    def locate(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(segment, row in it) of combined rows."""
        if self._locals is None:
            seg_of = np.zeros(self.n_rows, dtype=np.int32)
            local_of = np.zeros(self.n_rows, dtype=np.int64)
            for s, g in enumerate(self.global_rows):
                live = np.flatnonzero(g >= 0)
                seg_of[g[live]] = s
                local_of[g[live]] = live
            self._locals = (seg_of, local_of)
        seg_of, local_of = self._locals
        rows = np.asarray(rows, dtype=np.int64)
        return seg_of[rows], local_of[rows]


class CombinedPositions(Mapping[str, int]):
    """Document id -> position among the live documents of ``segments``, looked up in
    each segment's own table (built once per segment), so a write does not rebuild a
    table of every id. An id is alive in at most one segment (an update tombstones the
    old copy)."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.segments = segments
        self.offsets: list[int] = []
        self.ranks: list[np.ndarray | None] = []
        base = 0
        for seg in segments:
            self.offsets.append(base)
            # a document's place among its segment's live ones (None: no deletions)
            self.ranks.append(np.cumsum(~seg.dead) - 1 if seg.dead.any() else None)
            base += int(np.count_nonzero(~seg.dead))
        self.total = base

    def get(self, doc_id: str, default: Any = None) -> Any:  # type: ignore[override]
        for s in range(len(self.segments) - 1, -1, -1):
            pos = self.segments[s].state.position.get(doc_id)
            if pos is None or self.segments[s].dead[pos]:
                continue
            ranks = self.ranks[s]
            return self.offsets[s] + (pos if ranks is None else int(ranks[pos]))
        return default

    def __getitem__(self, doc_id: str) -> int:
        pos = self.get(doc_id)
        if pos is None:
            raise KeyError(doc_id)
        return int(pos)

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self.get(doc_id) is not None

    def __iter__(self) -> Iterator[str]:
        for seg in self.segments:
            for doc, dead in zip(seg.state.documents, seg.dead.tolist(), strict=True):
                if not dead:
                    yield doc.id

    def __len__(self) -> int:
        return self.total


class LocalRanks:
    """A tie key over one segment's rows: the combined rows' id ranks."""

    def __init__(self, ranks: Any, global_rows: np.ndarray) -> None:
        self.ranks, self.global_rows = ranks, global_rows

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        return self.ranks[self.global_rows[np.asarray(rows, dtype=np.int64)]]


class MultiBM25:
    """BM25 over all segments' live chunks, with global statistics."""

    def __init__(self, view: SegmentView, k1: float, b: float) -> None:
        self.view, self.k1, self.b = view, float(k1), float(b)
        self.n_rows = view.n_rows
        total = 0
        for seg, alive in zip(view.segments, view._alive, strict=True):
            lengths = np.asarray(seg.postings.lengths)
            total += int(lengths.sum() if alive is None else lengths[alive].sum())
        self.avgdl = max(total / max(self.n_rows, 1), 1e-9)
        self._tables: list[np.ndarray | None] = [None] * len(view.segments)

    def _table(self, s: int) -> np.ndarray:
        """Segment ``s``'s saturated tf per (tf, length) pair, for this state's avgdl."""
        table = self._tables[s]
        if table is None:
            postings = self.view.segments[s].postings
            table = bm25_tf(
                np.asarray(postings.pair_tf),
                np.asarray(postings.pair_len),
                self.k1,
                self.b,
                self.avgdl,
            )
            self._tables[s] = table
        return table

    def _term(self, token: str) -> list[tuple[np.ndarray, np.ndarray, int]]:
        """(combined rows, pair codes, segment) of ``token`` in every segment, live only."""
        parts = []
        for s, (seg, g, alive) in enumerate(
            zip(self.view.segments, self.view.global_rows, self.view._alive, strict=True)
        ):
            found = seg.postings.postings(token)
            if found is None:
                continue
            rows, codes = found
            if alive is not None:
                keep = alive[rows]
                rows, codes = g[rows[keep]], codes[keep]
            elif len(g) and g[0] != 0:
                rows = rows + int(g[0])  # no deletions: combined rows are an offset
            if len(rows):
                parts.append((rows, codes, s))
        return parts

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every combined row (zeros where no query token occurs)."""
        all_rows, all_values = [], []
        for token in tokens:
            parts = self._term(token)
            if not parts:
                continue
            idf = np.float32(bm25_idf(self.n_rows, sum(len(r) for r, _, _ in parts)))
            for rows, codes, s in parts:
                all_rows.append(rows)
                all_values.append((idf * self._table(s))[codes])  # scale the small table
        scores = np.zeros(self.n_rows, dtype=np.float32)
        if all_rows:
            # one unbuffered pass over every posting, summed per row in query-token order
            rows = np.concatenate(all_rows) if len(all_rows) > 1 else all_rows[0]
            values = np.concatenate(all_values) if len(all_values) > 1 else all_values[0]
            np.add.at(scores, rows, values)
        return scores

    def search(
        self,
        tokens: Sequence[str],
        k: int,
        mask: np.ndarray | None = None,
        tie_key: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(combined rows, scores) of the ``k`` best rows ``mask`` allows, best first;
        rows holding no query token are not returned."""
        scores = self.scores(tokens)
        rows = np.flatnonzero(scores > 0)
        if mask is not None:
            rows = rows[mask[rows]]
        rows = rows[top_k_indices(scores[rows], k, tie_key, rows)]
        return rows, scores[rows]

    def rows_holding(self, tokens: Sequence[str], rows: np.ndarray) -> np.ndarray:
        """Which of the combined ``rows`` hold every one of ``tokens``."""
        rows = np.asarray(rows, dtype=np.int64)
        held = np.ones(len(rows), dtype=bool)
        if not len(rows):
            return held
        seg_of, local = self.view.locate(rows)
        for s in np.unique(seg_of).tolist():
            at = seg_of == s
            postings = self.view.segments[s].postings
            for token in dict.fromkeys(tokens):
                held[at] &= postings.holding(token, local[at])
        return held


class RowVectors:
    """Stored vectors of combined rows, gathered from the segments: ``vectors[rows]``."""

    def __init__(self, view: SegmentView, key: str, dim: int) -> None:
        self.view, self.key, self.dim = view, key, dim

    @property
    def shape(self) -> tuple[int, int]:
        return (self.view.n_rows, self.dim)

    def __len__(self) -> int:
        return self.view.n_rows

    def __getitem__(self, rows: Any) -> np.ndarray:
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        out = np.zeros((len(rows), self.dim), dtype=np.float32)
        if not len(rows):
            return out
        seg_of, local = self.view.locate(rows)
        for s in np.unique(seg_of).tolist():
            at = np.flatnonzero(seg_of == s)
            vectors = self.view.segments[s].data(self.key).vectors
            out[at] = vectors[local[at]]
        return out


class MultiDense:
    """Nearest chunks over all segments: each segment's best ``k``, merged."""

    def __init__(self, view: SegmentView, key: str, dim: int) -> None:
        self.view, self.key = view, key
        self.vectors = RowVectors(view, key, dim)

    @property
    def n_rows(self) -> int:
        return self.view.n_rows

    def search(
        self,
        query: np.ndarray,
        k: int,
        mask: np.ndarray | None = None,
        *,
        tie_key: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(combined rows, cosine scores) of the ``k`` nearest rows allowed by ``mask``;
        ties in the combined state's id order (``tie_key`` is that order)."""
        all_rows, all_scores = [], []
        for s, seg in enumerate(self.view.segments):
            data = seg.data(self.key)
            if data.n_rows == 0:
                continue
            local = self.view.local_mask(s, mask)
            if local is not None and not local.any():
                continue
            key = self.view.local_key(s) if tie_key is not None else None
            rows, scores = data.search(query, k, local, tie_key=key)
            all_rows.append(self.view.global_rows[s][rows])
            all_scores.append(scores)
        if not all_rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if len(all_rows) == 1:
            return all_rows[0], all_scores[0]
        rows, scores = np.concatenate(all_rows), np.concatenate(all_scores)
        best = top_k_indices(scores, k, tie_key, rows)
        return rows[best], scores[best]


class MultiSparse:
    """BM42 over all segments, the IDF counting the live chunks of all of them."""

    def __init__(self, view: SegmentView, key: str) -> None:
        self.view, self.key = view, key

    @property
    def n_rows(self) -> int:
        return self.view.n_rows

    def vectors(self, rows: Sequence[int]) -> list[dict[str, float]]:
        """The stored ``{term: weight}`` of combined rows."""
        rows_array = np.asarray(list(rows), dtype=np.int64)
        out: list[dict[str, float]] = [{} for _ in range(len(rows_array))]
        if not len(rows_array):
            return out
        seg_of, local = self.view.locate(rows_array)
        for s in np.unique(seg_of).tolist():
            at = np.flatnonzero(seg_of == s).tolist()
            found = self.view.segments[s].extra[self.key].vectors(local[at].tolist())
            for i, vector in zip(at, found, strict=True):
                out[i] = vector
        return out

    def search(
        self,
        terms: Sequence[str],
        k: int,
        mask: np.ndarray | None = None,
        tie_key: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        n = self.view.n_rows
        rows_parts, value_parts = [], []
        for term in dict.fromkeys(terms):
            parts = []
            for seg, g, alive in zip(
                self.view.segments, self.view.global_rows, self.view._alive, strict=True
            ):
                sparse: SparseIndex = seg.extra[self.key]
                t = sparse.term_of.get(term)
                if t is None:
                    continue
                lo, hi = int(sparse.indptr[t]), int(sparse.indptr[t + 1])
                rows, weights = sparse.rows[lo:hi], sparse._scored[lo:hi]
                if alive is not None:
                    keep = alive[rows]
                    rows, weights = rows[keep], weights[keep]
                if len(rows):
                    parts.append((g[rows], weights))
            df = sum(len(r) for r, _ in parts)
            if not df:
                continue
            idf = np.float32(math.log1p((n - df + 0.5) / (df + 0.5)))
            for rows, weights in parts:
                rows_parts.append(rows)
                value_parts.append(weights * idf)
        if not rows_parts:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        rows = np.concatenate(rows_parts)
        values = np.concatenate(value_parts)
        held, inverse = np.unique(rows, return_inverse=True)
        scores = np.bincount(inverse, weights=values, minlength=len(held)).astype(np.float32)
        if mask is not None:
            keep = mask[held]
            held, scores = held[keep], scores[keep]
        top = top_k_indices(scores, k, tie_key, held)
        return held[top], scores[top]


def _joined(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False)
