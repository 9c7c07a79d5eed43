"""Segments on disk, inside a generation folder::

    gen-000012/segments/seg-000003/   documents.jsonl chunks.npz bm25/ vectors.npy
                                      ann.usearch retrievers/<name>/
    gen-000012/tombstones/seg-000003.npy   positions of its deleted documents

A segment's files are written once. The next generation hard-links them (and the
tombstone lists that did not change) and adds its own, so a commit writes only what is
new, and the commit protocol of ``index/store.py`` (a generation is complete or absent)
covers segments and merges alike. The manifest lists the segments in order.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from blendrank.errors import IndexFormatError
from blendrank.index.bm25 import TermPostings
from blendrank.index.dense import AnnConfig, DenseRetriever
from blendrank.index.extra import FOLDER as EXTRA_FOLDER
from blendrank.index.extra import ExtraRetriever
from blendrank.index.segments import Segment
from blendrank.index.state import IndexState
from blendrank.index.store import LEASE

SEGMENTS = "segments"
TOMBSTONES = "tombstones"
BM25_FOLDER = "bm25"


def segment_name(number: int) -> str:
    return f"seg-{number:06d}"


def segment_dir(generation: Path, name: str) -> Path:
    return generation / SEGMENTS / name


def tombstone_file(generation: Path, name: str) -> Path:
    return generation / TOMBSTONES / f"{name}.npy"


def ann_for(config: AnnConfig | None, n_rows: int) -> AnnConfig | None:
    """The HNSW settings a segment of ``n_rows`` is built with: none below the size
    that is searched exactly anyway."""
    return config if config is not None and n_rows >= config.exact_below else None


def load_segment(
    generation: Path,
    name: str,
    ann: AnnConfig | None,
    has_dense: bool,
    extras: Mapping[str, ExtraRetriever],
) -> Segment:
    folder = segment_dir(generation, name)
    state = IndexState.load(folder)
    postings = TermPostings.load(folder / BM25_FOLDER)
    dense = DenseRetriever.load(folder, ann) if has_dense else None
    extra = {n: e.load(folder / EXTRA_FOLDER / n, ann) for n, e in extras.items()}
    dead = np.zeros(len(state.documents), dtype=bool)
    tombstones = tombstone_file(generation, name)
    if tombstones.exists():
        positions = np.load(tombstones)
        if len(positions) and (positions.min() < 0 or positions.max() >= len(dead)):
            raise IndexFormatError(f"{tombstones} names documents outside segment {name}")
        dead[positions] = True
    check_shapes(folder, state, postings, dense, extra)
    return Segment(name, state, postings, dense, extra, dead)


def save_tombstones(generation: Path, segment: Segment) -> None:
    path = tombstone_file(generation, segment.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.flatnonzero(segment.dead).astype(np.int32))


def check_shapes(
    folder: Any,
    state: IndexState,
    postings: TermPostings,
    dense: DenseRetriever | None,
    extra: Mapping[str, Any],
) -> None:
    """Cheap consistency checks on open, so a damaged file is an error, not wrong results."""
    problem = state.shape_problem()
    if problem is None and postings.n_rows != state.n_rows:
        problem = f"bm25/ covers {postings.n_rows} chunks but chunks.npz has {state.n_rows}"
    if problem is None and dense is not None and dense.n_rows != state.n_rows:
        problem = f"vectors.npy has {dense.n_rows} rows but chunks.npz has {state.n_rows}"
    for name, data in extra.items():
        if problem is None and data.n_rows != state.n_rows:
            problem = (
                f"{EXTRA_FOLDER}/{name}/ covers {data.n_rows} chunks but chunks.npz has "
                f"{state.n_rows}"
            )
    if problem is not None:
        raise IndexFormatError(
            f"index generation {folder} is damaged: {problem}. Restore the index folder "
            "from a backup, or rebuild it: blendrank index NEW_DIR FILES..."
        )


def link_tree(
    source: Path,
    target: Path,
    skip: Callable[[Path], bool] | None = None,
    prefix: Path = Path(),
) -> list[str]:
    """Hard-link (or copy, where links fail) every file of ``source`` into ``target``
    but the lease file and those ``skip`` rejects (by path relative to ``source``);
    returns the linked paths relative to ``target`` (``prefix`` / relative path)."""
    linked = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or path.name == LEASE or (skip is not None and skip(relative)):
            continue
        destination = target / prefix / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(path, destination)
        linked.append((prefix / relative).as_posix())
    return linked


def link_segments(
    current: Path,
    tmp: Path,
    names: Iterable[str],
    unchanged_tombstones: Iterable[str],
    skip: Callable[[Path], bool] | None = None,
) -> list[str]:
    """Link segments ``names`` of generation ``current`` into ``tmp``, and the tombstone
    lists of ``unchanged_tombstones``; returns the linked relative paths."""
    linked = []
    for name in names:
        linked += link_tree(segment_dir(current, name), tmp, skip, prefix=Path(SEGMENTS, name))
    for name in unchanged_tombstones:
        source = tombstone_file(current, name)
        if source.exists():
            destination = tombstone_file(tmp, name)
            destination.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(source, destination)
            linked.append(destination.relative_to(tmp).as_posix())
    return linked


def _link_or_copy(source: Path, destination: Path) -> None:
    """A hard link (the file is never modified), or a copy where links fail."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
