"""Value types shared by every stage: frozen dataclasses, no behaviour beyond validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Document:
    """A source document as ingested: id, body text, optional title, flat metadata."""

    id: str
    text: str
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A token window of a document. ``start``/``end`` are character offsets into
    ``Document.text`` (``text == document.text[start:end]``); ``id`` is ``"<doc_id>#<n>"``."""

    id: str
    doc_id: str
    n: int
    text: str
    start: int
    end: int
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result.

    ``score`` is the final (fused, or reranked) score; ``scores`` and ``ranks`` hold every
    retriever's own score and 1-based rank (``"bm25"``, ``"dense"``, ...; absent when that
    retriever did not return the chunk). ``id`` is the chunk id, or the document id when
    results are collapsed per document.
    """

    id: str
    doc_id: str
    score: float
    text: str
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    chunk_id: str = ""
    start: int = 0
    end: int = 0
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "chunk_id": self.chunk_id,
            "score": self.score,
            "title": self.title,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "metadata": self.metadata,
            "scores": self.scores,
            "ranks": self.ranks,
        }


@dataclass(frozen=True, slots=True)
class RerankResult:
    """A reranked document, shaped as pymilvus returns it (``text``, ``score``, ``index``),
    plus the document id and metadata when the input carried them."""

    text: str
    score: float
    index: int
    id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
