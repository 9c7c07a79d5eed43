"""Top-k selection, deterministic under ties."""

from __future__ import annotations

import numpy as np


def top_k_indices(
    scores: np.ndarray,
    k: int,
    tie_key: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first; equal scores in ``tie_key`` order
    (index order when None), also for which of them make the cut. When ``scores`` are
    those of ``rows`` (a subset), ``tie_key`` is indexed by row, so only the few
    candidates near the cut are looked up.

    >>> top_k_indices(np.array([0.1, 0.9, 0.5, 0.9]), 3).tolist()
    [1, 3, 2]
    >>> top_k_indices(np.array([0.9, 0.9, 0.5]), 1, tie_key=np.array([1, 0, 2])).tolist()
    [1]
    """
    n = scores.shape[0]
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if k < n:
        # argpartition picks an arbitrary subset among ties at the boundary; take every
        # index tied with the k-th score so the final sort can break ties by index
        part = np.argpartition(-scores, k - 1)[:k]
        kth = scores[part].min()
        candidates = np.flatnonzero(scores >= kth)
    else:
        candidates = np.arange(n)
    if tie_key is None:
        ties = candidates
    else:
        ties = tie_key[candidates if rows is None else rows[candidates]]
    order = np.lexsort((ties, -scores[candidates]))
    return candidates[order[:k]].astype(np.int64)
