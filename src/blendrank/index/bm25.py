"""BM25 postings of one segment, scored at query time with statistics over all segments.

bm25s (the reference we measure against) stores each (term, chunk) score with the IDF
and the average length baked in, so its scores are those of the corpus it was built on.
A segmented index adds and deletes chunks without rebuilding old segments, so it stores
what BM25 is computed from, term frequencies and chunk lengths, and computes the score
per query from the live chunks of all segments (``index/segments.py``). The scores are
bm25s' default ("lucene") variant, so results equal one index rebuilt from scratch::

    idf(t)     = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
    score(d)   = sum over query tokens t of idf(t) * tf / (tf + k1 * (1 - b + b * |d| / avgdl))

(``N`` live chunks, ``df`` live chunks holding ``t``, ``|d|`` analysed tokens of ``d``).

The second factor depends only on the pair (tf, |d|), and a segment holds few distinct
pairs (term counts are small, chunk lengths bounded), so each posting stores the number
of its pair (``codes``) and a query looks the factor up in a table of the segment's pairs,
computed once per state of the index: per posting one lookup in a table that stays in
cache, instead of a length gathered from across the index and a division.

>>> p = TermPostings.build([["cat", "sat", "cat"], ["dog"], ["cat"]])
>>> rows, codes = p.postings("cat")
>>> rows.tolist(), p.pair_tf[codes].tolist(), p.pair_len[codes].tolist(), p.lengths.tolist()
([0, 2], [2, 1], [3, 1], [3, 1, 1])
>>> round(float(bm25_idf(3, 2)), 4)  # ln(1 + (3 - 2 + 0.5) / (2 + 0.5))
0.47
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from blendrank.errors import IndexFormatError
from blendrank.index.postings import renumbered

PARAMS_FILE = "blendrank_bm25.json"
VOCAB_FILE = "vocab.json"
ARRAYS = ("indptr", "rows", "codes", "pair_tf", "pair_len", "lengths")
#: arrays larger than this are memory-mapped when a segment is opened
MMAP_BYTES = 16 * 2**20
#: the format of the files in ``bm25/`` (2: term frequencies; 1 was bm25s' scores)
POSTINGS_VERSION = 2


def bm25_idf(n_rows: int, df: int) -> float:
    """Lucene's BM25 IDF (always positive)."""
    return math.log(1.0 + (n_rows - df + 0.5) / (df + 0.5))


def bm25_tf(tf: np.ndarray, length: np.ndarray, k1: float, b: float, avgdl: float) -> np.ndarray:
    """The saturated term frequency ``tf / (tf + k1 * (1 - b + b * |d| / avgdl))``."""
    tf = tf.astype(np.float32)
    norm = (k1 * (1.0 - b + b * length.astype(np.float32) / np.float32(avgdl))).astype(np.float32)
    return (tf / (tf + norm)).astype(np.float32)


class TermPostings:
    """Per term (CSR over ``vocab``): the rows holding it, ascending, and the number of
    each one's (term frequency, row length) pair in ``pair_tf`` / ``pair_len``;
    ``lengths``: analysed tokens per row. Immutable once built."""

    def __init__(
        self,
        vocab: list[str],
        indptr: np.ndarray,
        rows: np.ndarray,
        codes: np.ndarray,
        pair_tf: np.ndarray,
        pair_len: np.ndarray,
        lengths: np.ndarray,
    ) -> None:
        self.vocab = vocab
        self.term_of = {t: i for i, t in enumerate(vocab)}
        self.indptr, self.rows, self.codes = indptr, rows, codes
        self.pair_tf, self.pair_len, self.lengths = pair_tf, pair_len, lengths

    @property
    def tf(self) -> np.ndarray:
        """Each posting's term frequency."""
        return np.asarray(self.pair_tf)[np.asarray(self.codes)]

    @property
    def n_rows(self) -> int:
        return int(self.lengths.shape[0])

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]]) -> TermPostings:
        term_of: dict[str, int] = {}
        sizes = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(token_lists))
        total = int(sizes.sum())
        ids = np.fromiter(
            (term_of.setdefault(t, len(term_of)) for tokens in token_lists for t in tokens),
            dtype=np.int64,
            count=total,
        )
        rows = np.repeat(np.arange(len(token_lists), dtype=np.int64), sizes)
        return cls._from_pairs(list(term_of), ids, rows, np.ones(total, np.int64), sizes)

    @classmethod
    def _from_pairs(
        cls,
        vocab: list[str],
        terms: np.ndarray,
        rows: np.ndarray,
        counts: np.ndarray,
        lengths: np.ndarray,
    ) -> TermPostings:
        """Postings from (term, row, count) triples; repeated pairs are summed."""
        n = max(int(lengths.shape[0]), 1)
        keys, inverse = np.unique(terms * n + rows, return_inverse=True)
        tf = np.bincount(inverse, weights=counts, minlength=len(keys)) if len(keys) else counts
        per_term = np.bincount(keys // n, minlength=len(vocab)) if len(vocab) else keys
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(per_term, out=indptr[1:])
        row_of = (keys % n).astype(np.int64)
        tf = np.minimum(tf.astype(np.int64), np.iinfo(np.int32).max)
        length = lengths.astype(np.int64)[row_of] if len(row_of) else row_of
        pairs, codes = np.unique(
            tf * (int(length.max(initial=0)) + 1) + length, return_inverse=True
        )
        code_type = np.uint16 if len(pairs) <= np.iinfo(np.uint16).max + 1 else np.uint32
        return cls(
            vocab,
            indptr,
            row_of.astype(np.int32),
            codes.reshape(-1).astype(code_type),
            (pairs // (int(length.max(initial=0)) + 1)).astype(np.int32),
            (pairs % (int(length.max(initial=0)) + 1)).astype(np.int32),
            lengths.astype(np.int32),
        )

    @classmethod
    def merge(cls, parts: Sequence[tuple[TermPostings, np.ndarray]]) -> TermPostings:
        """One segment's postings from ``(postings, rows kept)`` parts, in order: the
        kept rows of the first part first. No text is analysed again."""
        term_of: dict[str, int] = {}
        terms, rows, counts, lengths = [], [], [], []
        base = 0
        for postings, kept in parts:
            kept = np.asarray(kept, dtype=np.int64)
            mapping = np.fromiter(
                (term_of.setdefault(t, len(term_of)) for t in postings.vocab),
                dtype=np.int64,
                count=len(postings.vocab),
            )
            term, row, keep = renumbered(
                mapping, postings.indptr, postings.rows, postings.n_rows, kept, base
            )
            terms.append(term)
            rows.append(row)
            counts.append(np.asarray(postings.tf)[keep].astype(np.int64))
            lengths.append(np.asarray(postings.lengths)[kept])
            base += len(kept)

        def joined(arrays: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(arrays) if arrays else np.zeros(0, np.int64)

        return cls._from_pairs(
            list(term_of), joined(terms), joined(rows), joined(counts), joined(lengths)
        )

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, pair codes) of ``term``, or None when no row holds it."""
        t = self.term_of.get(term)
        if t is None:
            return None
        lo, hi = int(self.indptr[t]), int(self.indptr[t + 1])
        return self.rows[lo:hi], self.codes[lo:hi]

    def holding(self, term: str, rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` hold ``term`` (a binary search per row)."""
        found = self.postings(term)
        if found is None or len(found[0]) == 0:
            return np.zeros(len(rows), dtype=bool)
        post = found[0]
        at = np.minimum(np.searchsorted(post, rows), len(post) - 1)
        return post[at] == rows

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ARRAYS:
            np.save(folder / f"{name}.npy", getattr(self, name))
        (folder / VOCAB_FILE).write_text(json.dumps(self.vocab, ensure_ascii=False), "utf-8")
        params = {"version": POSTINGS_VERSION, "n_rows": self.n_rows}
        (folder / PARAMS_FILE).write_text(json.dumps(params), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TermPostings:
        """Arrays over ``MMAP_BYTES`` are memory-mapped (opening a large index reads the
        vocabulary, not the postings); small ones are read, holding no file open."""
        params = json.loads((folder / PARAMS_FILE).read_text(encoding="utf-8"))
        if params.get("version") != POSTINGS_VERSION:
            raise IndexFormatError(f"{folder}: BM25 postings of another format")
        arrays = {}
        for name in ARRAYS:
            path = folder / f"{name}.npy"
            arrays[name] = np.load(
                path, mmap_mode="r" if path.stat().st_size > MMAP_BYTES else None
            )
        vocab = json.loads((folder / VOCAB_FILE).read_text("utf-8"))
        indptr, rows, codes = arrays["indptr"], arrays["rows"], arrays["codes"]
        if len(indptr) != len(vocab) + 1 or len(rows) != len(codes) or int(indptr[-1]) != len(rows):
            raise IndexFormatError(f"{folder}: BM25 postings and vocabulary do not match")
        if len(arrays["pair_tf"]) != len(arrays["pair_len"]):
            raise IndexFormatError(f"{folder}: BM25 term-frequency table is damaged")
        if len(arrays["lengths"]) != params["n_rows"]:
            raise IndexFormatError(f"{folder}: BM25 chunk lengths do not match its row count")
        return cls(vocab, **arrays)
