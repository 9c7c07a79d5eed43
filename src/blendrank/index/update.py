"""Plan a write: the new segment it adds and the documents it marks dead.

Chunks of documents whose text and title did not change keep their rows' vectors
(no re-embedding); only new or changed documents are chunked and embedded. A document
sent again unchanged (text, title and metadata) is not written at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from blendrank.index.state import IndexState
from blendrank.types import Document


@dataclass
class UpdatePlan:
    """A write as one new segment: ``state`` holds the new and changed documents; rows of
    documents whose text and title did not change (a metadata update) reuse their
    vectors. ``dead``: positions in the current combined state to tombstone."""

    state: IndexState
    kept_old_rows: np.ndarray  # combined rows of the current state whose vectors are reused
    kept_new_rows: np.ndarray  # ... at these rows of the new segment
    fresh_rows: np.ndarray  # rows of the new segment that need embedding
    dead: list[int]
    counts: dict[str, int]

    @property
    def changes(self) -> bool:
        return bool(self.state.documents or self.dead)


def plan_update(
    old: IndexState, upserts: Sequence[Document], deletes: Sequence[str], chunker
) -> UpdatePlan:
    counts = {"added": 0, "updated": 0, "unchanged": 0, "deleted": 0, "chunks": 0}
    dead: list[int] = []
    for doc_id in dict.fromkeys(deletes):
        pos = old.position.get(doc_id)
        if pos is not None:
            counts["deleted"] += 1
            dead.append(pos)

    # Old rows are grouped by document, documents in order: a doc's rows are one range.
    def row_range(pos: int) -> tuple[int, int]:
        lo = int(np.searchsorted(old.doc_rows, pos, side="left"))
        return lo, int(np.searchsorted(old.doc_rows, pos, side="right"))

    new_docs: list[Document] = []
    reuse: list[tuple[int, int] | None] = []  # per new doc: old row range, or None = re-chunk
    deleted = set(dead)
    for doc in upserts:
        pos = old.position.get(doc.id)
        if pos is None or pos in deleted:
            counts["added"] += 1
            new_docs.append(doc)
            reuse.append(None)
            continue
        current = old.documents[pos]
        if current.text == doc.text and current.title == doc.title:
            if current.metadata == doc.metadata:
                counts["unchanged"] += 1
                continue
            reuse.append(row_range(pos))  # vectors stay valid
        else:
            reuse.append(None)
        counts["updated"] += 1
        new_docs.append(doc)
        dead.append(pos)

    to_chunk = [doc for doc, r in zip(new_docs, reuse, strict=True) if r is None]
    chunk_lists = iter(chunker.chunk_many(to_chunk)) if to_chunk else iter(())

    doc_rows, chunk_n, starts, ends = [], [], [], []
    kept_old, kept_new, fresh = [], [], []
    row = 0
    for pos, r in enumerate(reuse):
        if r is not None:
            lo, hi = r
            count = hi - lo
            doc_rows.append(np.full(count, pos, dtype=np.int32))
            chunk_n.append(old.chunk_n[lo:hi])
            starts.append(old.chunk_start[lo:hi])
            ends.append(old.chunk_end[lo:hi])
            kept_old.append(np.arange(lo, hi))
            kept_new.append(np.arange(row, row + count))
        else:
            chunks = next(chunk_lists)
            count = len(chunks)
            doc_rows.append(np.full(count, pos, dtype=np.int32))
            chunk_n.append(np.array([c.n for c in chunks], dtype=np.int32))
            starts.append(np.array([c.start for c in chunks], dtype=np.int64))
            ends.append(np.array([c.end for c in chunks], dtype=np.int64))
            fresh.append(np.arange(row, row + count))
            counts["chunks"] += count
        row += count

    state = IndexState(
        new_docs,
        doc_rows=_concat(doc_rows, np.int32),
        chunk_n=_concat(chunk_n, np.int32),
        chunk_start=_concat(starts, np.int64),
        chunk_end=_concat(ends, np.int64),
    )
    return UpdatePlan(
        state,
        _concat(kept_old, np.int64),
        _concat(kept_new, np.int64),
        _concat(fresh, np.int64),
        sorted(set(dead)),
        counts,
    )


def _concat(parts: list[np.ndarray], dtype) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False)
