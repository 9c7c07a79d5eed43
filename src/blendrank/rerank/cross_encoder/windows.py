"""Turn (query, document) pairs into model inputs without silent truncation.

``"truncate"`` encodes each pair exactly as sentence-transformers' ``CrossEncoder`` does
(``[CLS] query [SEP] document [SEP]`` cut ``longest_first`` to ``max_length``).
``"split"`` keeps the whole query in every window and slides over the document tokens,
consecutive windows sharing ``overlap`` tokens; a pair that fits gives one window,
identical to ``"truncate"``. Scores of a document's windows are then aggregated.

>>> import numpy as np
>>> scores, owner = np.array([0.1, 0.9, 0.5, 0.3]), np.array([0, 0, 0, 1])
>>> [round(float(s), 2) for s in aggregate_windows(scores, owner, 2, "max")]
[0.9, 0.3]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from blendrank.errors import InvalidInputError

LongDocuments = Literal["split", "truncate"]
Aggregate = Literal["max", "mean", "first"]


@dataclass(frozen=True)
class PairWindows:
    """Token ids of every window; ``owner[w]`` is the document window ``w`` belongs to."""

    ids: list[list[int]]
    type_ids: list[list[int]]
    owner: np.ndarray
    split_documents: int
    query_truncated: bool


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise InvalidInputError("texts must be a list of strings, got a single string")
    items = list(texts)
    for position, text in enumerate(items):
        if not isinstance(text, str):
            raise InvalidInputError(
                f"texts[{position}] must be a str, got {type(text).__name__} ({text!r:.40})"
            )
    return items


def _clip_query(tokenizer: Any, query: str, limit: int) -> tuple[str, bool]:
    """Cut ``query`` to at most ``limit`` tokens (at a token boundary) so windows have room."""
    encoding = tokenizer.encode(query, add_special_tokens=False)
    if len(encoding.ids) <= limit:
        return query, False
    return query[: encoding.offsets[limit - 1][1]], True


def encode_pairs(
    tokenizer: Any,
    query: str,
    texts: Sequence[str],
    *,
    max_length: int,
    long_documents: LongDocuments = "split",
    overlap: int | None = None,
) -> PairWindows:
    """Encode ``(query, text)`` pairs into windows of at most ``max_length`` tokens."""
    texts = _check_texts(texts)
    specials = tokenizer.num_special_tokens_to_add(True)
    if long_documents == "truncate":
        tokenizer.enable_truncation(max_length, strategy="longest_first")
        try:
            encodings = tokenizer.encode_batch([(query, t) for t in texts])
        finally:
            tokenizer.no_truncation()
        return PairWindows(
            ids=[e.ids for e in encodings],
            type_ids=[e.type_ids for e in encodings],
            owner=np.arange(len(texts)),
            split_documents=0,
            query_truncated=False,
        )
    # a query longer than half the window is cut so each window still holds document text
    query, clipped = _clip_query(tokenizer, query, max(1, (max_length - specials) // 2))
    query_tokens = len(tokenizer.encode(query, add_special_tokens=False).ids)
    room = max_length - specials - query_tokens
    shared = room // 4 if overlap is None else overlap
    shared = max(0, min(shared, room // 2))
    tokenizer.enable_truncation(max_length, stride=shared, strategy="only_second")
    try:
        encodings = tokenizer.encode_batch([(query, t) for t in texts])
    finally:
        tokenizer.no_truncation()
    ids: list[list[int]] = []
    type_ids: list[list[int]] = []
    owner: list[int] = []
    split = 0
    for position, encoding in enumerate(encodings):
        parts = [encoding, *encoding.overflowing]
        split += len(parts) > 1
        for part in parts:
            ids.append(part.ids)
            type_ids.append(part.type_ids)
            owner.append(position)
    return PairWindows(ids, type_ids, np.asarray(owner, dtype=np.int64), split, clipped)


def aggregate_windows(
    scores: np.ndarray, owner: np.ndarray, n: int, how: Aggregate = "max"
) -> np.ndarray:
    """One score per document from its windows' scores (windows of a document are in order)."""
    scores = np.asarray(scores, dtype=np.float64)
    if how == "first":
        first = np.full(n, -1, dtype=np.int64)
        for w in range(len(owner) - 1, -1, -1):
            first[owner[w]] = w
        return scores[first].astype(np.float32)
    if how == "max":
        out = np.full(n, -np.inf)
        np.maximum.at(out, owner, scores)
        return out.astype(np.float32)
    if how == "mean":
        total = np.bincount(owner, weights=scores, minlength=n)
        count = np.bincount(owner, minlength=n)
        return (total / count).astype(np.float32)
    raise InvalidInputError(f"aggregate must be 'max', 'mean' or 'first', got {how!r}")
