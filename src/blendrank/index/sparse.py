"""Learned sparse retrieval over chunks (BM42): a stored weight per (chunk, term), an IDF
computed from the stored postings when the index is loaded, so it always counts the
chunks the index holds now (after adds and deletes alike).

``score(chunk) = sum over query terms t in the chunk of IDF(t) * w(chunk, t) ** power``
with Qdrant's IDF, ``ln(1 + (N - df + 0.5) / (df + 0.5))`` (N chunks, df of them holding t);
``power`` is BM42's ``alpha`` (fastembed's default 0.5), applied to the stored weights when
searching, so it can change without re-encoding anything.

>>> index = SparseIndex.build([{"cat": 0.5, "mat": 0.2}, {"dog": 0.4}, {"cat": 0.1}])
>>> round(float(index.idf[index.term_of["cat"]]), 4)  # ln(1 + (3 - 2 + 0.5) / (2 + 0.5))
0.47
>>> rows, scores = index.search(["cat"], 5)
>>> rows.tolist(), [round(s, 4) for s in scores.tolist()]
([0, 2], [0.235, 0.047])
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from blendrank.errors import IndexFormatError
from blendrank.index.postings import renumbered
from blendrank.index.topk import top_k_indices

POSTINGS_FILE = "postings.npz"
VOCAB_FILE = "vocab.json"


class SparseIndex:
    """Postings by term (``indptr`` over the sorted ``vocab``; ``rows``, ``weights``)."""

    def __init__(
        self,
        vocab: list[str],
        indptr: np.ndarray,
        rows: np.ndarray,
        weights: np.ndarray,
        n_rows: int,
        power: float = 1.0,
    ) -> None:
        self.vocab = vocab
        self.power = float(power)
        self._scored = weights if self.power == 1.0 else np.power(weights, self.power)
        self.term_of = {t: i for i, t in enumerate(vocab)}
        self.indptr, self.rows, self.weights = indptr, rows, weights
        self.n_rows = n_rows
        df = np.diff(indptr).astype(np.float64)
        self.idf = np.log1p((n_rows - df + 0.5) / (df + 0.5)).astype(np.float32)
        self._by_row: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @classmethod
    def build(cls, vectors: Sequence[Mapping[str, float]], power: float = 1.0) -> SparseIndex:
        vocab = sorted({t for v in vectors for t in v})
        term_of = {t: i for i, t in enumerate(vocab)}
        sizes = np.fromiter((len(v) for v in vectors), dtype=np.int64, count=len(vectors))
        rows = np.repeat(np.arange(len(vectors), dtype=np.int32), sizes)
        terms = np.fromiter(
            (term_of[t] for v in vectors for t in v), dtype=np.int64, count=int(sizes.sum())
        )
        weights = np.fromiter(
            (w for v in vectors for w in v.values()), dtype=np.float32, count=int(sizes.sum())
        )
        return cls._from_triples(vocab, terms, rows, weights, len(vectors), power)

    @classmethod
    def _from_triples(
        cls,
        vocab: list[str],
        terms: np.ndarray,
        rows: np.ndarray,
        weights: np.ndarray,
        n: int,
        power: float,
    ) -> SparseIndex:
        order = np.lexsort((rows, terms))
        counts = np.bincount(terms, minlength=len(vocab)) if len(vocab) else np.zeros(0, np.int64)
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(vocab, indptr, rows[order].astype(np.int32), weights[order], n, power)

    @classmethod
    def merge(cls, parts: Sequence[tuple[SparseIndex, np.ndarray]], power: float) -> SparseIndex:
        """One index of the ``(index, rows kept)`` parts, the kept rows renumbered in order."""
        vocab = sorted({t for index, _ in parts for t in index.vocab})
        term_of = {t: i for i, t in enumerate(vocab)}
        terms, rows, weights = [], [], []
        base = 0
        for index, kept in parts:
            kept = np.asarray(kept, dtype=np.int64)
            mapping = np.fromiter(
                (term_of[t] for t in index.vocab), dtype=np.int64, count=len(index.vocab)
            )
            term, row, keep = renumbered(
                mapping, index.indptr, index.rows, index.n_rows, kept, base
            )
            terms.append(term)
            rows.append(row)
            weights.append(np.asarray(index.weights)[keep])
            base += len(kept)
        if not parts:
            return cls.build([], power)
        return cls._from_triples(
            vocab, np.concatenate(terms), np.concatenate(rows), np.concatenate(weights), base, power
        )

    def vectors(self, rows: Sequence[int]) -> list[dict[str, float]]:
        """The stored ``{term: weight}`` of each of ``rows`` (to carry kept chunks over;
        ``power`` not applied)."""
        starts, terms, weights = self._row_major()
        vocab = self.vocab
        out = []
        for row in rows:
            a, b = int(starts[row]), int(starts[row + 1])
            names = [vocab[t] for t in terms[a:b].tolist()]
            out.append(dict(zip(names, weights[a:b].tolist(), strict=True)))
        return out

    def _row_major(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._by_row is None:
            terms = np.repeat(np.arange(len(self.vocab), dtype=np.int64), np.diff(self.indptr))
            order = np.argsort(self.rows, kind="stable")
            counts = np.bincount(self.rows, minlength=self.n_rows)
            starts = np.zeros(self.n_rows + 1, dtype=np.int64)
            np.cumsum(counts, out=starts[1:])
            self._by_row = (starts, terms[order], self.weights[order])
        return self._by_row

    def scores(self, terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(rows holding a query term, their scores)."""
        ids = [self.term_of[t] for t in dict.fromkeys(terms) if t in self.term_of]
        if not ids:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        parts = [slice(int(self.indptr[t]), int(self.indptr[t + 1])) for t in ids]
        rows = np.concatenate([self.rows[s] for s in parts])
        pairs = zip(parts, ids, strict=True)
        values = np.concatenate([self._scored[s] * self.idf[t] for s, t in pairs])
        if len(ids) == 1:
            return rows.astype(np.int64), values
        held, inverse = np.unique(rows, return_inverse=True)
        summed = np.bincount(inverse, weights=values, minlength=len(held)).astype(np.float32)
        return held.astype(np.int64), summed

    def search(
        self,
        terms: Sequence[str],
        k: int,
        mask: np.ndarray | None = None,
        tie_key: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The best ``k`` rows (best first) among those ``mask`` keeps; rows holding no
        query term are not returned."""
        rows, scores = self.scores(terms)
        if mask is not None:
            keep = mask[rows]
            rows, scores = rows[keep], scores[keep]
        top = top_k_indices(scores, k, tie_key, rows)
        return rows[top], scores[top]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(
            folder / POSTINGS_FILE,
            indptr=self.indptr,
            rows=self.rows,
            weights=self.weights,
            n_rows=np.array(self.n_rows, dtype=np.int64),
        )
        (folder / VOCAB_FILE).write_text(json.dumps(self.vocab, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, folder: Path, power: float = 1.0) -> SparseIndex:
        with np.load(folder / POSTINGS_FILE) as arrays:
            indptr, rows, weights = arrays["indptr"], arrays["rows"], arrays["weights"]
            n_rows = int(arrays["n_rows"])
        vocab = json.loads((folder / VOCAB_FILE).read_text("utf-8"))
        if len(indptr) != len(vocab) + 1 or len(rows) != len(weights) or indptr[-1] != len(rows):
            raise IndexFormatError(f"{folder}: postings and vocabulary do not match")
        if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= n_rows):
            raise IndexFormatError(f"{folder}: postings name rows outside the index")
        return cls(vocab, indptr, rows, weights, n_rows, power)
