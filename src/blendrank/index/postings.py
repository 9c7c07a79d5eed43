"""Renumbering postings (CSR by term) when segments merge: shared by BM25 and BM42."""

from __future__ import annotations

import numpy as np


def renumbered(
    term_ids: np.ndarray,
    indptr: np.ndarray,
    rows: np.ndarray,
    n_rows: int,
    kept: np.ndarray,
    base: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(term, new row, which postings are kept) of one part of a merge: each posting's
    term as ``term_ids`` of its term, and its row numbered ``base + i`` for the ``i``-th
    of ``kept`` (postings of rows not kept are dropped).

    >>> t, r, keep = renumbered(np.array([5, 7]), np.array([0, 2, 3]), np.array([0, 1, 1]),
    ...                         2, np.array([1]), 10)
    >>> t.tolist(), r.tolist(), keep.tolist()
    ([5, 7], [10, 10], [False, True, True])
    """
    new_row = np.full(n_rows, -1, dtype=np.int64)
    new_row[np.asarray(kept, dtype=np.int64)] = base + np.arange(len(kept))
    term = np.repeat(np.asarray(term_ids, dtype=np.int64), np.diff(indptr))
    row = new_row[np.asarray(rows, dtype=np.int64)]
    keep = row >= 0
    return term[keep], row[keep], keep
