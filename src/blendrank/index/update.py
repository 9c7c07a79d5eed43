"""Plan the next generation from the current one plus upserts and deletes.

Chunks of documents whose text and title did not change keep their rows' vectors
(no re-embedding); only new or changed documents are chunked and embedded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from blendrank.index.state import IndexState
from blendrank.types import Document


@dataclass
class UpdatePlan:
    state: IndexState
    kept_old_rows: np.ndarray  # rows of the old state whose vectors are reused ...
    kept_new_rows: np.ndarray  # ... at these rows of the new state
    fresh_rows: np.ndarray  # rows of the new state that need embedding
    counts: dict[str, int]


def plan_update(
    old: IndexState, upserts: Sequence[Document], deletes: Sequence[str], chunker
) -> UpdatePlan:
    incoming = {doc.id: doc for doc in upserts}
    deleted = set(deletes)
    counts = {"added": 0, "updated": 0, "unchanged": 0, "deleted": 0, "chunks": 0}

    # Old rows are grouped by document, documents in order: a doc's rows are one range.
    row_starts = np.searchsorted(old.doc_rows, np.arange(len(old.documents)), side="left")
    row_ends = np.searchsorted(old.doc_rows, np.arange(len(old.documents)), side="right")

    new_docs: list[Document] = []
    reuse: list[tuple[int, int] | None] = []  # per new doc: old row range, or None = re-chunk
    for pos, doc in enumerate(old.documents):
        if doc.id in deleted:
            counts["deleted"] += 1
            continue
        replacement = incoming.pop(doc.id, None)
        if replacement is None:
            new_docs.append(doc)
            reuse.append((int(row_starts[pos]), int(row_ends[pos])))
        elif replacement.text == doc.text and replacement.title == doc.title:
            counts["unchanged" if replacement.metadata == doc.metadata else "updated"] += 1
            new_docs.append(replacement)  # metadata may differ; chunks and vectors stay valid
            reuse.append((int(row_starts[pos]), int(row_ends[pos])))
        else:
            counts["updated"] += 1
            new_docs.append(replacement)
            reuse.append(None)
    for doc in upserts:
        if doc.id in incoming:  # not consumed above: a brand-new document
            counts["added"] += 1
            new_docs.append(doc)
            reuse.append(None)

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
        counts,
    )


def _concat(parts: list[np.ndarray], dtype) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False)
