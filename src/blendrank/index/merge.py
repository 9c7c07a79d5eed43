"""Merging segments: one segment holding the live documents of several, and the policy
that picks which to merge after a write.

A merge copies what the segments store (chunk rows, term frequencies, vectors, BM42
weights) without chunking, analysing or embedding anything again; vectors stream into a
memory-mapped file, so a merge of a million chunks does not hold them all in RAM. The
HNSW graph of the merged segment is built anew (graphs do not merge), which is where a
large merge spends its time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from blendrank.index.bm25 import TermPostings
from blendrank.index.dense import ANN_FILE, VECTORS_FILE, AnnConfig, build_hnsw
from blendrank.index.extra import FOLDER as EXTRA_FOLDER
from blendrank.index.extra import ExtraRetriever
from blendrank.index.segment_files import BM25_FOLDER, ann_for
from blendrank.index.segments import Segment
from blendrank.index.sparse import SparseIndex
from blendrank.index.state import IndexState

#: vectors copied per step of a merge
COPY_ROWS = 65_536


def pick_merge(segments: Sequence[Segment], max_segments: int) -> list[str]:
    """The segments to merge once there are more than ``max_segments``: the smallest,
    enough of them to leave ``max_segments // 2``. Small segments are merged often and
    large ones rarely, so each chunk is copied a logarithmic number of times; the
    largest segment is merged only by :meth:`~blendrank.Index.optimize`.

    >>> from types import SimpleNamespace as S
    >>> segs = [S(name=f"s{i}", n_live_rows=n) for i, n in enumerate([900, 5, 7, 3, 8, 9])]
    >>> pick_merge(segs, 8), pick_merge(segs, 4)
    ([], ['s3', 's1', 's2', 's4', 's5'])
    """
    if len(segments) <= max_segments:
        return []
    by_size = sorted(segments, key=lambda seg: seg.n_live_rows)
    take = len(segments) - max_segments // 2 + 1
    return [seg.name for seg in by_size[:take]]


def merge_segments(
    chosen: Sequence[Segment],
    folder: Path,
    ann: AnnConfig | None,
    has_dense: bool,
    extras: Mapping[str, ExtraRetriever],
) -> dict[str, Any]:
    """Write the segment holding the live documents of ``chosen`` (in order) into
    ``folder``; returns its manifest entry."""
    folder.mkdir(parents=True)
    documents: list[Any] = []
    doc_rows, chunk_n, starts, ends, parts = [], [], [], [], []
    doc_base = 0
    for seg in chosen:
        st = seg.state
        alive = ~seg.dead
        rows = seg.live_rows
        new_pos = np.full(len(st.documents), -1, dtype=np.int64)
        new_pos[alive] = doc_base + np.arange(int(alive.sum()))
        documents.extend(d for d, keep in zip(st.documents, alive.tolist(), strict=True) if keep)
        doc_rows.append(new_pos[st.doc_rows[rows]])
        chunk_n.append(st.chunk_n[rows])
        starts.append(st.chunk_start[rows])
        ends.append(st.chunk_end[rows])
        parts.append((seg, rows))
        doc_base += int(alive.sum())
    state = IndexState(
        documents,
        doc_rows=np.concatenate(doc_rows).astype(np.int32),
        chunk_n=np.concatenate(chunk_n).astype(np.int32),
        chunk_start=np.concatenate(starts).astype(np.int64),
        chunk_end=np.concatenate(ends).astype(np.int64),
    )
    state.save(folder)
    TermPostings.merge([(seg.postings, rows) for seg, rows in parts]).save(folder / BM25_FOLDER)
    ann = ann_for(ann, state.n_rows)
    if has_dense:
        _merge_vectors(folder, [(seg.dense, rows) for seg, rows in parts], ann)
    for name, extra in extras.items():
        target = folder / EXTRA_FOLDER / name
        target.mkdir(parents=True)
        if extra.kind == "bm42":
            merged = SparseIndex.merge(
                [(seg.extra[name], rows) for seg, rows in parts], extra.alpha
            )
            merged.save(target)
        else:
            _merge_vectors(target, [(seg.extra[name], rows) for seg, rows in parts], ann)
    return {"name": folder.name, "documents": len(documents), "chunks": state.n_rows}


def _merge_vectors(folder: Path, parts: Sequence[tuple[Any, np.ndarray]], ann: Any) -> None:
    """Copy the kept rows' vectors into ``folder``'s vectors file, step by step, and build
    the HNSW graph over it when ``ann`` says so."""
    dim = int(parts[0][0].vectors.shape[1])
    total = sum(len(rows) for _, rows in parts)
    out = np.lib.format.open_memmap(
        folder / VECTORS_FILE, mode="w+", dtype=np.float32, shape=(total, dim)
    )
    at = 0
    for data, rows in parts:
        for lo in range(0, len(rows), COPY_ROWS):
            block = rows[lo : lo + COPY_ROWS]
            out[at : at + len(block)] = data.vectors[block]
            at += len(block)
    out.flush()
    if ann is not None and total:
        build_hnsw(out, ann).save(str(folder / ANN_FILE))
    del out
