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
        response_model=V1RerankResponse,
        summary="Rerank documents (Cohere v1 and Jina format)",
        description='Documents are strings or `{"text": ...}` objects; with '
        "`return_documents` each result carries its `document` (objects unchanged).",
    )
    async def rerank_cohere_v1(body: CohereV1RerankRequest) -> JSONResponse:
        model = state.models.get(body.model)
        query = state.check_query(body.query)
        texts = [d if isinstance(d, str) else d.text for d in body.documents]
        state.check_documents(texts)
        scored = state.prepare_texts(model, texts, body.max_tokens_per_doc)
        ranking = (await state.rank(model, query, scored)).top(body.top_n)
        scores = relevance_scores(ranking.scores, model.scale)
        results: list[dict[str, Any]] = []
        for i, s in zip(positions(ranking), scores, strict=True):
            result: dict[str, Any] = {"index": int(i), "relevance_score": float(s)}
            if body.return_documents:
                doc = body.documents[int(i)]
                result["document"] = {"text": doc} if isinstance(doc, str) else doc.model_dump()
            results.append(result)
        return JSONResponse(
            {"id": str(uuid.uuid4()), "model": model.name, "results": results, "meta": meta("1")}
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
        ranking = await state.rank(model, query, body.texts)
        convert = raw_scores if body.raw_scores else relevance_scores
        scores = convert(ranking.scores, model.scale)
        ranks: list[dict[str, Any]] = []
        for i, s in zip(positions(ranking), scores, strict=True):
            rank: dict[str, Any] = {"index": int(i), "score": float(s)}
            if body.return_text:
                rank["text"] = body.texts[int(i)]
            ranks.append(rank)
        return JSONResponse(ranks)

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
