"""Length-aware batching for cross-encoders: sort sequences by token length, fill each
batch up to a token budget (so short pairs go in big batches and long ones in small),
pad each batch only to its own longest sequence.

>>> [b.tolist() for b in token_budget_batches([3, 9, 4, 8], max_tokens=18)]
[[1, 3], [2, 0]]
>>> pad_batch([[5, 6, 7], [8]], [[0, 1, 1], [0]], [1, 0], pad_id=0)[1].tolist()
[[1, 0, 0], [1, 1, 1]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from blendrank.errors import InvalidInputError


def token_budget_batches(
    lengths: Sequence[int], *, max_tokens: int, max_rows: int | None = None
) -> list[np.ndarray]:
    """Positions grouped into batches, longest first; a batch holds at most ``max_tokens``
    padded tokens (rows x its longest length) and at most ``max_rows`` rows.

    The sort is stable, so equal lengths keep input order and the result is deterministic.
    """
    if max_tokens < 1:
        raise InvalidInputError(f"max_tokens must be >= 1, got {max_tokens}")
    if max_rows is not None and max_rows < 1:
        raise InvalidInputError(f"batch_size must be >= 1, got {max_rows}")
    token_counts = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-token_counts, kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        longest = max(int(token_counts[order[start]]), 1)  # batch padded to its first (longest)
        rows = max(1, max_tokens // longest)
        if max_rows is not None:
            rows = min(rows, max_rows)
        batches.append(order[start : start + rows])
        start += rows
    return batches


def pad_batch(
    ids: Sequence[Sequence[int]],
    type_ids: Sequence[Sequence[int]],
    positions: Sequence[int] | np.ndarray,
    *,
    pad_id: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input_ids, attention_mask, token_type_ids) int64 arrays of the rows ``positions``,
    right-padded to the longest of them."""
    width = max(len(ids[p]) for p in positions)
    input_ids = np.full((len(positions), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(positions), width), dtype=np.int64)
    types = np.zeros((len(positions), width), dtype=np.int64)
    for row, p in enumerate(positions):
        n = len(ids[p])
        input_ids[row, :n] = ids[p]
        mask[row, :n] = 1
        types[row, :n] = type_ids[p]
    return input_ids, mask, types
