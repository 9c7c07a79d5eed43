"""Request and response bodies of ``/search`` and ``/documents``: the library's search
options and document fields, unknown keys refused (a typo is a 422, not a silent default).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class SearchWeights(BaseModel):
    model_config = _STRICT

    bm25: float | None = Field(None, ge=0)
    dense: float | None = Field(None, ge=0)


class SearchRequest(BaseModel):
    """``filter`` takes the library's syntax, e.g.
    ``{"section": {"in": ["faq"]}, "date": {"gte": "2025-01-01"}}``; ``rerank`` names a
    served model applied to the fused top ``rerank_candidates``."""

    model_config = _STRICT

    query: str = Field(min_length=1)
    top_k: int = Field(10, ge=1, le=1000)
    filter: dict[str, Any] | None = None
    mode: Literal["hybrid", "bm25", "dense"] = "hybrid"
    fusion: Literal["rrf", "linear", "relative_score", "dbsf"] = "rrf"
    rrf_k: int = Field(60, ge=1, le=1_000_000)
    weights: SearchWeights | None = None
    normalization: Literal["minmax", "zscore"] = "minmax"
    per: Literal["chunk", "document"] = "chunk"
    candidates: int = Field(100, ge=1, le=10_000)
    rerank: str | None = Field(None, description="a served reranker's name")
    rerank_candidates: int | None = Field(None, ge=1, le=10_000)


class SearchHit(BaseModel):
    """One hit; ``scores``/``ranks`` hold each retriever's own score and rank
    (``bm25``, ``dense``, ``rerank``; absent when that retriever did not return it)."""

    id: str
    doc_id: str
    chunk_id: str
    score: float
    title: str
    text: str
    start: int
    end: int
    metadata: dict[str, Any]
    scores: dict[str, float]
    ranks: dict[str, int]


class SearchResponse(BaseModel):
    hits: list[SearchHit]
    generation: int = Field(description="index generation the search read")


class DocumentBody(BaseModel):
    model_config = _STRICT

    text: str
    title: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)


class DocumentWithId(DocumentBody):
    id: str = Field(min_length=1)


class BulkDocuments(BaseModel):
    model_config = _STRICT

    documents: list[DocumentWithId] = Field(min_length=1)


class StoredDocument(BaseModel):
    id: str
    text: str
    title: str
    metadata: dict[str, Any]


class WriteResult(BaseModel):
    """Counts of one committed write; it is on disk (fsynced) when this is returned."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    documents: int = Field(description="documents in the index after the write")
    generation: int = Field(description="index generation the write committed")
