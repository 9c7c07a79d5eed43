"""Request and response bodies of ``/search`` and ``/documents``: the library's search
options and document fields, unknown keys refused (a typo is a 422, not a silent default).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from blendrank.options import SEARCH_OPTIONS

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


def _option(name: str) -> Any:
    """The field of a search option: default, bounds, allowed values (in the OpenAPI
    schema as an enum) and help, from :data:`blendrank.options.SEARCH_OPTIONS`."""
    option = SEARCH_OPTIONS[name]
    extra = {"enum": list(option.choices)} if option.choices else None
    return Field(
        option.default,
        ge=option.minimum,
        le=option.maximum,
        description=option.help,
        json_schema_extra=extra,  # type: ignore[arg-type]
    )


class SearchRequest(BaseModel):
    """``filter`` takes the library's syntax, e.g.
    ``{"section": {"in": ["faq"]}, "date": {"gte": "2025-01-01"}}``; ``rerank`` names a
    served model applied to the fused top ``rerank_candidates``."""

    model_config = _STRICT

    query: str = Field(min_length=1)
    top_k: int = _option("top_k")
    filter: dict[str, Any] | None = None
    mode: str = _option("mode")
    fusion: str = _option("fusion")
    rrf_k: int = _option("rrf_k")
    weights: dict[str, Annotated[float, Field(ge=0)]] | None = Field(
        None,
        description='fusion weight per retriever name, e.g. {"bm25": 0.3, "dense": 0.7}',
        examples=[{"bm25": 0.3, "dense": 0.7}],
    )
    retrievers: list[Annotated[str, Field(min_length=1, max_length=32)]] | None = Field(
        None,
        min_length=1,
        max_length=16,
        description="retrievers to fuse instead of mode, any the index has "
        '(e.g. ["bm25", "dense", "e5", "bm42"]; an unknown name is a 400 listing them)',
    )
    normalization: str = _option("normalization")
    per: str = _option("per")
    candidates: int = _option("candidates")
    self_query: str = _option("self_query")
    rerank: str | None = Field(None, description="a served reranker's name")
    rerank_candidates: int | None = _option("rerank_candidates")

    @field_validator(*(n for n, o in SEARCH_OPTIONS.items() if o.choices))
    @classmethod
    def _one_of_the_choices(cls, value: str, info: ValidationInfo) -> str:
        choices = SEARCH_OPTIONS[str(info.field_name)].choices or ()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value


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


class SelfQuery(BaseModel):
    """What ``self_query`` read from the question."""

    filter: dict[str, Any] = Field(description="the filter applied (filter) or boosted (boost)")
    query: str = Field(description="the question without the words that became the filter")
    mode: str
    source: str = Field(description="the extractor: rules, llm")
    matches: list[dict[str, Any]] = Field(default_factory=list)


class SearchResponse(BaseModel):
    hits: list[SearchHit]
    generation: int = Field(description="index generation the search read")
    self_query: SelfQuery | None = Field(None, description="present when self_query is on")


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
