"""``blendrank migrate SRC DEST``: copy a store (documents, chunks, vectors) to another
store, from the embedded index to an engine, between engines, or back, without embedding
anything again.

The destination is created with the source's embedder and chunking (so its chunks are
the source's chunks), then documents go over in batches; each batch's vectors are read
from the source and replayed to the destination's writer, keyed by chunk text. Resumable:
a destination ``add`` skips documents it already holds unchanged, so running the same
migration again after an interruption continues where it stopped, without re-embedding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from blendrank.backends.external import ExternalIndex, doc_key
from blendrank.errors import InvalidInputError
from blendrank.types import Document


class _Replay:
    """An embedder that answers document texts from vectors read off the source; any text
    it has no vector for is embedded by the real model (and counted)."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.vectors: dict[str, np.ndarray] = {}
        self.embedded = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def embed_documents(self, texts: Sequence[str], progress: bool = False, **_: Any) -> Any:
        out = []
        for text in texts:
            vector = self.vectors.get(text)
            if vector is None:
                self.embedded += 1
                vector = np.asarray(self._real.embed_documents([text])[0], dtype=np.float32)
            out.append(vector)
        dim = int(self._real.dim)
        return np.asarray(out, dtype=np.float32).reshape(len(out), dim)


def migrate(
    source: Any, destination: str, *, batch: int = 500, progress: bool = False
) -> dict[str, int]:
    """Copy ``source`` (a store, or a folder / URI it opens and closes) into the store
    ``destination`` names; returns counts: ``documents``, ``added``, ``updated``,
    ``unchanged``, ``re_embedded`` (chunks the source had no vector for: 0 when both
    stores chunk alike)."""
    from blendrank.backends import connect
    from blendrank.errors import IndexNotFoundError

    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InvalidInputError(f"batch must be an integer >= 1, got {batch!r}")
    src = connect(source) if isinstance(source, str) else source
    try:
        settings = _settings(src)
        try:
            dest = connect(destination)
        except IndexNotFoundError:
            dest = connect(destination, create=True, **settings)
        try:
            _check_compatible(settings, _settings(dest), destination)
            return _copy(src, dest, batch, progress)
        finally:
            dest.close()
    finally:
        if isinstance(source, str):
            src.close()


def _copy(src: Any, dest: Any, batch: int, progress: bool) -> dict[str, int]:
    real = dest.embedder
    replay = _Replay(real) if real is not None else None
    totals = {"documents": 0, "added": 0, "updated": 0, "unchanged": 0}
    batches = _batches(src, batch)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="migrating", unit="batch")  # type: ignore[assignment]
    for docs in batches:
        if replay is not None:
            replay.vectors = _vectors_of(src, docs)
            dest._embedder = replay
        try:
            counts = dest.add(docs)
        finally:
            if replay is not None:
                dest._embedder = real
        totals["documents"] += len(docs)
        for key in ("added", "updated", "unchanged"):
            totals[key] += counts.get(key, 0)
    totals["re_embedded"] = replay.embedded if replay is not None else 0
    return totals


def _settings(store: Any) -> dict[str, Any]:
    """The creation options that make another store chunk and embed the same way."""
    settings = store.settings
    chunking = settings["chunking"]
    return {
        "embedder": settings["embedder"],
        "chunk_size": chunking["chunk_size"],
        "chunk_overlap": chunking["overlap"],
        "tokenizer": chunking.get("tokenizer"),
        "title_in_chunks": settings["title_in_chunks"],
    }


def _check_compatible(want: dict[str, Any], have: dict[str, Any], where: str) -> None:
    for key in ("embedder", "chunk_size", "chunk_overlap", "title_in_chunks"):
        if want[key] != have[key]:
            raise InvalidInputError(
                f"{where} already exists with another {key} ({have[key]!r}, the source has "
                f"{want[key]!r}); migrate into a new store, or delete that one first"
            )


def _batches(store: Any, size: int) -> Iterator[list[Document]]:
    if isinstance(store, ExternalIndex):
        yield from store.document_batches(size)
        return
    docs = list(store.documents())
    for start in range(0, len(docs), size):
        yield docs[start : start + size]


def _vectors_of(store: Any, docs: Sequence[Document]) -> dict[str, np.ndarray]:
    """``{chunk text: vector}`` of the source's chunks of ``docs``."""
    if isinstance(store, ExternalIndex):
        return store.chunk_vectors_of([doc_key(d.id) for d in docs])
    if store.embedder is None:
        return {}
    state = store._state
    positions = [state.position[d.id] for d in docs if d.id in state.position]
    rows = state.rows_of_documents(positions)
    if len(rows) == 0:
        return {}
    title_in = store.title_in_chunks
    texts = []
    documents = state.documents
    doc_of, starts, ends = state.row_spans
    for row in rows.tolist():
        doc = documents[doc_of[row]]
        body = doc.text[starts[row] : ends[row]]
        texts.append(f"{doc.title}\n{body}" if title_in and doc.title else body)
    vectors = np.asarray(store._dense.vectors[rows], dtype=np.float32)
    return dict(zip(texts, vectors, strict=True))
