"""The contents of one index generation: documents, chunk rows and their vectors,
read from and written to a generation folder. Pure data plus file I/O; no models."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from blendrank.errors import IndexFormatError, InvalidInputError
from blendrank.types import Chunk, Document, copy_metadata

DOCUMENTS_FILE = "documents.jsonl"
CHUNKS_FILE = "chunks.npz"


def detached(doc: Document) -> Document:
    """``doc`` with its own copy of the metadata: what comes out of the store.

    Documents are frozen but their metadata dicts are not; a caller editing a result must
    never edit the index.
    """
    return Document(doc.id, doc.text, doc.title, copy_metadata(doc.metadata))


@dataclass
class IndexState:
    """Documents in insertion order and one row per chunk.

    Row ``r`` is chunk ``chunk_n[r]`` of ``documents[doc_rows[r]]``, covering
    ``text[chunk_start[r]:chunk_end[r]]``; ``vectors[r]`` is its embedding (or absent).
    """

    documents: list[Document] = field(default_factory=list)
    doc_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    chunk_n: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    chunk_start: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    chunk_end: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    #: id -> document position; built on first use unless the maker supplies one
    #: (a segment view maps ids through its segments' own tables instead)
    positions: Mapping[str, int] | None = None

    def __post_init__(self) -> None:
        self._chunk_ids: list[str] | None = None
        self._row_spans: tuple[list[int], list[int], list[int]] | None = None
        self._row_of: dict[str, int] | None = None

    @property
    def position(self) -> Mapping[str, int]:
        if self.positions is None:
            ids = [doc.id for doc in self.documents]
            self.positions = dict(zip(ids, range(len(ids)), strict=True))
        return self.positions

    @property
    def n_rows(self) -> int:
        return int(self.doc_rows.shape[0])

    @property
    def chunk_ids(self) -> list[str]:
        if self._chunk_ids is None:
            docs = self.documents
            pairs = zip(self.doc_rows.tolist(), self.chunk_n.tolist(), strict=True)
            self._chunk_ids = [f"{docs[d].id}#{n}" for d, n in pairs]
        return self._chunk_ids

    @property
    def row_spans(self) -> tuple[list[int], list[int], list[int]]:
        """(document position, start, end) of every row as Python lists: reading one
        row from a list is several times faster than from a numpy array."""
        if self._row_spans is None:
            self._row_spans = (
                self.doc_rows.tolist(),
                self.chunk_start.tolist(),
                self.chunk_end.tolist(),
            )
        return self._row_spans

    def chunk_id(self, row: int) -> str:
        return f"{self.documents[int(self.doc_rows[row])].id}#{int(self.chunk_n[row])}"

    @property
    def tie_order(self) -> IdRanks:
        """Ties between equal scores in chunk-id order, worked out only for the rows that
        tie (nothing is sorted up front: a write to a large index
        does not make its next search sort every chunk id)."""
        return IdRanks(self)

    def row_of(self, chunk_id: str) -> int | None:
        if self._row_of is None:
            self._row_of = {cid: r for r, cid in enumerate(self.chunk_ids)}
        return self._row_of.get(chunk_id)

    def rows_of(self, chunk_ids: Sequence[str]) -> list[int]:
        """Row numbers of chunk ids; an unknown id is an InvalidInputError."""
        rows = []
        for cid in chunk_ids:
            row = self.row_of(cid)
            if row is None:
                raise InvalidInputError(f"unknown chunk id {cid!r}")
            rows.append(row)
        return rows

    def chunk(self, row: int) -> Chunk:
        doc = self.documents[int(self.doc_rows[row])]
        start, end = int(self.chunk_start[row]), int(self.chunk_end[row])
        return Chunk(
            id=f"{doc.id}#{int(self.chunk_n[row])}",
            doc_id=doc.id,
            n=int(self.chunk_n[row]),
            text=doc.text[start:end],
            start=start,
            end=end,
            title=doc.title,
            metadata=copy_metadata(doc.metadata),
        )

    def row_text(self, row: int, title_in_chunks: bool) -> str:
        doc = self.documents[int(self.doc_rows[row])]
        body = doc.text[int(self.chunk_start[row]) : int(self.chunk_end[row])]
        return f"{doc.title}\n{body}" if title_in_chunks and doc.title else body

    def row_texts(self, title_in_chunks: bool) -> Iterator[str]:
        """The text each row is indexed under (title prepended when configured)."""
        docs = self.documents
        for d, s, e in zip(
            self.doc_rows.tolist(), self.chunk_start.tolist(), self.chunk_end.tolist(), strict=True
        ):
            doc = docs[d]
            body = doc.text[s:e]
            yield f"{doc.title}\n{body}" if title_in_chunks and doc.title else body

    def row_metadata(self) -> list[dict]:
        docs = self.documents
        return [docs[d].metadata for d in self.doc_rows.tolist()]

    def shape_problem(self) -> str | None:
        """What is inconsistent between documents.jsonl and chunks.npz, or None."""
        n = self.n_rows
        lengths = {len(self.chunk_n), len(self.chunk_start), len(self.chunk_end)}
        if lengths != {n}:
            return f"chunks.npz arrays have different lengths ({n} and {sorted(lengths)})"
        if n == 0:
            return None if not self.documents else "documents.jsonl has documents but no chunks"
        if int(self.doc_rows.min()) < 0 or int(self.doc_rows.max()) >= len(self.documents):
            return (
                f"chunks.npz names document rows up to {int(self.doc_rows.max())} but "
                f"documents.jsonl has {len(self.documents)} documents"
            )
        if np.any(np.diff(self.doc_rows) < 0) or len(np.unique(self.doc_rows)) != len(
            self.documents
        ):
            return "chunks.npz does not give every document of documents.jsonl its own rows"
        lengths_of_text = np.fromiter(
            (len(d.text) for d in self.documents), dtype=np.int64, count=len(self.documents)
        )
        if np.any(self.chunk_start > self.chunk_end) or np.any(
            self.chunk_end > lengths_of_text[self.doc_rows]
        ):
            return "chunks.npz has character offsets outside their documents"
        return None

    def rows_of_documents(self, doc_positions: Sequence[int]) -> np.ndarray:
        wanted = np.zeros(len(self.documents), dtype=bool)
        wanted[list(doc_positions)] = True
        return np.flatnonzero(wanted[self.doc_rows]) if self.n_rows else np.zeros(0, np.int64)

    def save(self, folder: Path) -> None:
        with open(folder / DOCUMENTS_FILE, "w", encoding="utf-8") as fh:
            for doc in self.documents:
                record = {
                    "id": doc.id,
                    "title": doc.title,
                    "text": doc.text,
                    "metadata": doc.metadata,
                }
                fh.write(json.dumps(record, ensure_ascii=False))
                fh.write("\n")
        np.savez(
            folder / CHUNKS_FILE,
            doc_rows=self.doc_rows,
            chunk_n=self.chunk_n,
            chunk_start=self.chunk_start,
            chunk_end=self.chunk_end,
        )

    @classmethod
    def load(cls, folder: Path) -> IndexState:
        try:
            documents = []
            with open(folder / DOCUMENTS_FILE, encoding="utf-8") as fh:
                for line in fh:
                    r = json.loads(line)
                    documents.append(Document(r["id"], r["text"], r["title"], r["metadata"]))
            with np.load(folder / CHUNKS_FILE) as arrays:
                parts = {name: arrays[name] for name in arrays.files}
        except (OSError, ValueError, KeyError) as exc:
            raise IndexFormatError(f"cannot read index generation {folder}: {exc}") from exc
        return cls(documents, **parts)


class IdRanks:
    """``ranks[rows]``: numbers that order ``rows`` as their chunk ids sort (comparable
    within one lookup, which is how top-k selection uses a tie key)."""

    def __init__(self, state: IndexState) -> None:
        self.state = state

    def __len__(self) -> int:
        return self.state.n_rows

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.ndim == 0:
            return np.zeros((), dtype=np.int64)
        ids = [self.state.chunk_id(r) for r in rows.tolist()]
        if not ids:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.array(ids), return_inverse=True)[1].astype(np.int64).reshape(-1)
