"""Request and response bodies of the rerank endpoints, in the shapes the hosted APIs
publish (Cohere v2 and v1 ``/rerank``, Jina ``/v1/rerank``, Hugging Face TEI ``/rerank``).

Fields those APIs define but that change nothing here (Cohere's ``priority``,
``relevant_spans``, ``rank_fields``, ``max_chunks_per_doc``; Jina's ``truncation``) are
accepted and ignored, as are unknown fields, so existing clients work unchanged.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_LENIENT = ConfigDict(extra="ignore", allow_inf_nan=False)


class ErrorResponse(BaseModel):
    """Every error: ``message`` (Cohere), ``error``/``error_type`` (TEI), same text."""

    message: str
    error: str
    error_type: str
    status: int
    request_id: str | None = None


class CohereV2RerankRequest(BaseModel):
    model_config = _LENIENT

    model: str = Field(description="name of a served reranker (GET /models lists them)")
    query: str = Field(min_length=1, description="the search query")
    documents: list[str] = Field(min_length=1, description="texts to rank for the query")
    top_n: int | None = Field(None, ge=1, description="return only the best N (default all)")
    max_tokens_per_doc: int | None = Field(
        None, ge=1, description="cut each document after this many tokens before scoring"
    )
    rank_fields: Any = Field(None, description="not in v2 (string documents); a 422 if sent")


class TextDocument(BaseModel):
    """A document object: ``text`` is ranked (or the fields ``rank_fields`` names); other
    fields are returned unchanged."""

    model_config = ConfigDict(extra="allow")

    text: str | None = None


class CohereV1RerankRequest(BaseModel):
    """Cohere v1, Jina and Voyage: ``model`` optional (the server's first model),
    documents as strings or ``{"text": ...}`` objects, ``return_documents`` (default
    false). A body with Voyage's ``top_k`` (or ``truncation``) gets Voyage's answer."""

    model_config = _LENIENT

    model: str | None = Field(None, description="a served reranker; default the first one")
    query: str = Field(min_length=1)
    documents: list[str | TextDocument] = Field(min_length=1)
    top_n: int | None = Field(None, ge=1)
    top_k: int | None = Field(None, ge=1, description="Voyage's name for top_n")
    rank_fields: list[str] | None = Field(
        None,
        min_length=1,
        description="Cohere v1: rank object documents on these fields (as `field: value` lines)",
    )
    truncation: bool | None = Field(None, description="Voyage: accepted (long texts are split)")
    return_documents: bool = False
    max_tokens_per_doc: int | None = Field(None, ge=1)


class TEIRerankRequest(BaseModel):
    """TEI: ``truncate=false`` (its default) refuses a (query, text) pair longer than the
    model window with 422; ``truncate=true`` lets the model handle long texts (split into
    windows, or cut, as it is configured). ``model`` is a blendrank extension."""

    model_config = _LENIENT

    query: str = Field(min_length=1)
    texts: list[str] = Field(min_length=1)
    raw_scores: bool = False
    return_text: bool = False
    truncate: bool | None = False
    truncation_direction: Literal["left", "right", "Left", "Right"] = "right"
    model: str | None = Field(None, description="a served reranker; default the first one")


class ApiVersion(BaseModel):
    version: str


class BilledUnits(BaseModel):
    search_units: int


class RerankMeta(BaseModel):
    api_version: ApiVersion
    billed_units: BilledUnits


class V2RerankResult(BaseModel):
    index: int = Field(ge=0)
    relevance_score: float = Field(ge=0, le=1)


class V2RerankResponse(BaseModel):
    id: str
    results: list[V2RerankResult]
    meta: RerankMeta


class ReturnedDocument(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str


class V1RerankResult(BaseModel):
    index: int = Field(ge=0)
    relevance_score: float = Field(ge=0, le=1)
    document: ReturnedDocument | None = None


class Usage(BaseModel):
    total_tokens: int = Field(ge=0)


class V1RerankResponse(BaseModel):
    """Cohere v1's shape, with Jina's ``usage``."""

    id: str
    model: str
    results: list[V1RerankResult]
    meta: RerankMeta
    usage: Usage


class VoyageRerankResponse(BaseModel):
    object: Literal["list"]
    data: list[V1RerankResult]
    model: str
    usage: Usage


class TEIRank(BaseModel):
    index: int = Field(ge=0)
    score: float
    text: str | None = None


class ModelInfo(BaseModel):
    name: str
    type: str
    scale: str
    max_length: int | None
    batched: bool


class ModelList(BaseModel):
    models: list[ModelInfo]


def meta(version: str) -> dict[str, Any]:
    return {"api_version": {"version": version}, "billed_units": {"search_units": 1}}
