"""The rerank endpoints, one per client format, all over the same scoring path:
validate limits -> (cut to ``max_tokens_per_doc``) -> micro-batcher -> ranking ->
the format's score scale and shape.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from blendrank.rerank.base import positions
from blendrank.service.errors import ServiceError
from blendrank.service.schemas import (
    CohereV1RerankRequest,
    CohereV2RerankRequest,
    ModelList,
    TEIRank,
    TEIRerankRequest,
    V1RerankResponse,
    V2RerankResponse,
    VoyageRerankResponse,
    meta,
)
from blendrank.service.scores import raw_scores, relevance_scores
from blendrank.service.state import ServiceState


def rerank_router(state: ServiceState, responses: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter(tags=["rerank"], responses=responses)

    @router.post(
        "/v2/rerank",
        response_model=V2RerankResponse,
        summary="Rerank documents (Cohere v2 format)",
        description="The body Cohere's `POST /v2/rerank` takes; `ClientV2(base_url=...)` "
        "works unchanged. `relevance_score` is in [0, 1], results best first.",
    )
    async def rerank_cohere_v2(body: CohereV2RerankRequest) -> JSONResponse:
        if body.rank_fields is not None:
            raise ServiceError(
                422,
                "rank_fields is Cohere v1's (object documents); v2 ranks string documents: "
                "send each document as one string, or use POST /v1/rerank",
                error_type="validation",
            )
        model = state.models.get(body.model)
        query = state.check_query(body.query)
        state.check_documents(body.documents)
        texts = state.prepare_texts(model, body.documents, body.max_tokens_per_doc)
        ranking = (await state.rank(model, query, texts)).top(body.top_n)
        scores = relevance_scores(ranking.scores, model.scale)
        results = [
            {"index": int(i), "relevance_score": float(s)}
            for i, s in zip(positions(ranking), scores, strict=True)
        ]
        return JSONResponse({"id": str(uuid.uuid4()), "results": results, "meta": meta("2")})

    @router.post(
        "/v1/rerank",
        response_model=V1RerankResponse | VoyageRerankResponse,
        summary="Rerank documents (Cohere v1, Jina and Voyage formats)",
        description='Documents are strings or `{"text": ...}` objects; with '
        "`return_documents` each result carries its `document` (objects unchanged). "
        "`usage.total_tokens` counts the (query, document) tokens read, as Jina reports "
        "it. A body with Voyage's `top_k` or `truncation` gets Voyage's answer "
        '(`{"object": "list", "data": [...], "model", "usage"}`).',
    )
    async def rerank_cohere_v1(body: CohereV1RerankRequest) -> JSONResponse:
        model = state.models.get(body.model)
        query = state.check_query(body.query)
        texts = [_ranked_text(d, body.rank_fields, i) for i, d in enumerate(body.documents)]
        state.check_documents(texts)
        voyage = body.top_k is not None or body.truncation is not None
        if voyage and body.top_n is not None:
            raise ServiceError(
                422,
                "give top_n (Cohere, Jina) or top_k (Voyage), not both",
                error_type="validation",
            )
        scored = state.prepare_texts(model, texts, body.max_tokens_per_doc)
        ranking = (await state.rank(model, query, scored)).top(body.top_k or body.top_n)
        scores = relevance_scores(ranking.scores, model.scale)
        results: list[dict[str, Any]] = []
        for i, s in zip(positions(ranking), scores, strict=True):
            result: dict[str, Any] = {"index": int(i), "relevance_score": float(s)}
            if body.return_documents:
                doc = body.documents[int(i)]
                result["document"] = (
                    {"text": doc} if isinstance(doc, str) else doc.model_dump(exclude_unset=True)
                )
            results.append(result)
        usage = {"total_tokens": model.count_tokens(query, scored)}
        if voyage:
            return JSONResponse(
                {"object": "list", "data": results, "model": model.name, "usage": usage}
            )
        return JSONResponse(
            {
                "id": str(uuid.uuid4()),
                "model": model.name,
                "results": results,
                "meta": meta("1"),
                "usage": usage,
            }
        )

    @router.post(
        "/rerank",
        response_model=list[TEIRank],
        summary="Rerank texts (Hugging Face TEI format)",
        description="TEI's `POST /rerank`: a bare array of `{index, score, text?}`, best "
        "first; `score` is sigmoid-normalised unless `raw_scores`. With `truncate=false` "
        "(TEI's default) a (query, text) pair longer than the model window is a 422.",
    )
    async def rerank_tei(body: TEIRerankRequest) -> JSONResponse:
        model = state.models.get(body.model)
        query = state.check_query(body.query)
        state.check_documents(body.texts, "texts")
        if not body.truncate:
            over = model.too_long(query, body.texts)
            if over is not None:
                position, tokens = over
                raise ServiceError(
                    422,
                    f"texts[{position}]: the (query, text) pair is {tokens} tokens and model "
                    f"{model.name!r} reads at most {model.max_length}; shorten it or send "
                    '"truncate": true to let the server split or cut long texts',
                    error_type="validation",
                )
        texts = body.texts
        if body.truncate and body.truncation_direction.lower() == "left":
            texts = model.keep_end(query, texts)  # TEI: keep each text's end
        ranking = await state.rank(model, query, texts)
        convert = raw_scores if body.raw_scores else relevance_scores
        scores = convert(ranking.scores, model.scale)
        ranks: list[dict[str, Any]] = []
        for i, s in zip(positions(ranking), scores, strict=True):
            rank: dict[str, Any] = {"index": int(i), "score": float(s)}
            if body.return_text:
                rank["text"] = body.texts[int(i)]
            ranks.append(rank)
        return JSONResponse(ranks)

    @router.get(
        "/v1/models",
        summary="The served rerankers (OpenAI-style list)",
        description='`{"object": "list", "data": [{"id", "object": "model", "owned_by"}]}`, '
        "as OpenAI-compatible clients list models.",
    )
    async def list_models_openai() -> JSONResponse:
        data = [
            {"id": m.name, "object": "model", "created": 0, "owned_by": "blendrank"}
            for m in state.models
        ]
        return JSONResponse({"object": "list", "data": data})

    @router.get(
        "/info",
        summary="The default reranker (Hugging Face TEI's /info)",
        description="TEI's model description for the default reranker: `model_id`, "
        "`model_type`, `max_input_length`, `max_client_batch_size`, `version`.",
    )
    async def tei_info() -> JSONResponse:
        from blendrank._version import __version__

        model = state.models.get(None)
        return JSONResponse(
            {
                "model_id": model.name,
                "model_dtype": "float32",
                "model_type": {"reranker": {"id2label": {"0": "LABEL_0"}, "label2id": {}}},
                "max_input_length": model.max_length or 0,
                "max_client_batch_size": state.config.max_documents,
                "version": __version__,
                "router": "blendrank",
            }
        )

    @router.get("/models", response_model=ModelList, summary="The served rerankers")
    async def list_models() -> JSONResponse:
        return JSONResponse(
            {
                "models": [
                    {
                        "name": m.name,
                        "type": type(m.reranker).__name__,
                        "scale": m.scale,
                        "max_length": m.max_length,
                        "batched": m.batched,
                    }
                    for m in state.models
                ]
            }
        )

    return router


def _ranked_text(document: Any, rank_fields: list[str] | None, position: int) -> str:
    """What a v1 document is ranked on: its text, or with ``rank_fields`` those fields of
    an object document as ``field: value`` lines, in the order given (Cohere's rendering)."""
    if rank_fields is None:
        if isinstance(document, str):
            return document
        if document.text is None:
            raise ServiceError(
                422,
                f"documents[{position}] has no 'text'; add it, or name the fields to rank "
                'on with "rank_fields"',
                error_type="validation",
            )
        return document.text
    if isinstance(document, str):
        if rank_fields == ["text"]:
            return document
        raise ServiceError(
            422,
            f"documents[{position}] is a string, so it has no fields {rank_fields}; send "
            "object documents to rank on fields",
            error_type="validation",
        )
    values = document.model_dump()
    missing = [f for f in rank_fields if f not in values]
    if missing:
        raise ServiceError(
            422,
            f"documents[{position}] has no field {missing[0]!r} named in rank_fields",
            error_type="validation",
        )
    return "\n".join(f"{f}: {values[f]}" for f in rank_fields)
