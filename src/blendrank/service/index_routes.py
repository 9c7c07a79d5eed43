"""``/search`` and ``/documents``: the library's ``Index.search`` and writes over HTTP.

Searches run the index's pipeline in worker threads on the snapshot of the last commit; a
``rerank`` model that scores groups (a cross-encoder) gets the first-stage hits through the
shared micro-batcher, awaited on the event loop. Writes are acknowledged after
their commit is on disk.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from blendrank.pipeline import Pipeline
from blendrank.rerank.base import reranked, scores_by_position
from blendrank.service.errors import ServiceError, too_large
from blendrank.service.index_schemas import (
    BulkDocuments,
    DocumentBody,
    SearchRequest,
    SearchResponse,
    StoredDocument,
    WriteResult,
)
from blendrank.service.registry import ServedModel
from blendrank.service.state import ServiceState
from blendrank.types import Document, Hit, Query, Ranking


def _hit(hit: Hit) -> dict[str, Any]:
    out = hit.to_dict()
    out["score"] = float(hit.score)
    out["scores"] = {k: float(v) for k, v in hit.scores.items()}
    out["ranks"] = {k: int(v) for k, v in hit.ranks.items()}
    return out


def _document(doc: Document) -> dict[str, Any]:
    return {"id": doc.id, "text": doc.text, "title": doc.title, "metadata": dict(doc.metadata)}


def _path_id(request: Request, doc_id: str) -> str:
    """The document id from the URL, or 400 when its percent-encoding is not UTF-8.

    Starlette decodes ``%FC`` to U+FFFD, so ``/documents/M%FCller`` and ``/documents/M%E4ller``
    would both address ``M\ufffdller`` and the second write would replace the first.
    """
    if "\ufffd" not in doc_id:
        return doc_id
    raw = request.scope.get("raw_path") or b""
    tail = raw.split(b"?", 1)[0].split(b"/documents/", 1)[-1]
    try:
        return urllib.parse.unquote_to_bytes(tail).decode("utf-8")
    except UnicodeDecodeError:
        raise ServiceError(
            400,
            "the document id in the URL is not UTF-8 once percent-decoded; percent-encode "
            "the id's UTF-8 bytes (Müller is M%C3%BCller)",
            error_type="invalid_request",
        ) from None


def index_router(state: ServiceState, responses: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter(tags=["index"], responses=responses)

    @router.post(
        "/search",
        response_model=SearchResponse,
        summary="Hybrid search with filters, fusion and optional reranking",
    )
    async def search(body: SearchRequest) -> JSONResponse:
        service = state.require_index()
        query = Query(state.check_query(body.query), body.filter)
        model = None
        if body.rerank is not None:
            model = state.models.get(body.rerank)
            depth = max(body.top_k, body.rerank_candidates or body.candidates)
            if depth > state.config.max_documents:
                raise too_large(
                    f"reranking {depth} candidates; this server reranks at most "
                    f"{state.config.max_documents} per request (--max-documents): lower "
                    "rerank_candidates (or candidates)"
                )
        index, generation = await service.current()
        pipeline = index.pipeline(
            None if model is None else model.reranker,
            mode=body.mode,
            fusion=body.fusion,
            rrf_k=body.rrf_k,
            weights=body.weights,
            retrievers=body.retrievers,
            self_query=body.self_query,
            normalization=body.normalization,
            per=body.per,
            candidates=body.candidates,
            rerank_candidates=body.rerank_candidates,
        )
        timeout = state.config.request_timeout_s
        try:
            hits = await asyncio.wait_for(
                _search(state, model, pipeline, query, body.top_k), timeout
            )
        except TimeoutError:
            raise ServiceError(
                504,
                f"search did not finish within {timeout:g} s; retry later or ask for fewer "
                "candidates",
                error_type="timeout",
            ) from None
        body_out: dict[str, Any] = {"hits": [_hit(h) for h in hits], "generation": generation}
        if "self_query" in hits.info:
            body_out["self_query"] = hits.info["self_query"]
        return JSONResponse(body_out)

    @router.put(
        "/documents/{doc_id:path}",
        response_model=WriteResult,
        summary="Add or replace one document (durable when acknowledged)",
    )
    async def put_document(doc_id: str, body: DocumentBody, request: Request) -> JSONResponse:
        doc_id = _path_id(request, doc_id)
        service = state.require_index()
        state.check_documents([body.text])
        doc = Document(doc_id, body.text, body.title, dict(body.metadata))
        counts, generation = await service.upsert([doc])
        return JSONResponse(_write_result(service, counts, generation))

    @router.post(
        "/documents",
        response_model=WriteResult,
        summary="Add or replace many documents in one commit (durable when acknowledged)",
    )
    async def post_documents(body: BulkDocuments) -> JSONResponse:
        service = state.require_index()
        state.check_documents([d.text for d in body.documents])
        docs = [Document(d.id, d.text, d.title, dict(d.metadata)) for d in body.documents]
        counts, generation = await service.upsert(docs)
        return JSONResponse(_write_result(service, counts, generation))

    @router.get(
        "/documents/{doc_id:path}",
        response_model=StoredDocument,
        summary="One stored document by id",
    )
    async def get_document(doc_id: str, request: Request) -> JSONResponse:
        doc_id = _path_id(request, doc_id)
        index, _generation = await state.require_index().current()
        doc = index.get(doc_id)
        if doc is None:
            raise ServiceError(404, f"no document with id {doc_id!r}", error_type="not_found")
        return JSONResponse(_document(doc))

    @router.delete(
        "/documents/{doc_id:path}",
        response_model=WriteResult,
        summary="Delete one document (durable when acknowledged)",
    )
    async def delete_document(doc_id: str, request: Request) -> JSONResponse:
        doc_id = _path_id(request, doc_id)
        service = state.require_index()
        deleted, generation = await service.delete([doc_id])
        if not deleted:
            raise ServiceError(404, f"no document with id {doc_id!r}", error_type="not_found")
        return JSONResponse(_write_result(service, {"deleted": deleted}, generation))

    return router


async def _search(
    state: ServiceState,
    model: ServedModel | None,
    pipeline: Pipeline,
    query: Query,
    top_k: int,
) -> Ranking:
    """The pipeline's final ranking. A model that scores groups gets the first-stage hits
    through its micro-batcher, awaited here, so searches share model calls with the
    rerank endpoints; any other reranker runs inside the pipeline, in a worker thread."""
    if model is None or not model.batched:
        result = await run_in_threadpool(pipeline.run, query, top_k)
        final = result.final
        if "self_query" in result.first_stage.info:
            final.info["self_query"] = result.first_stage.info["self_query"]
        return final
    first = await run_in_threadpool(pipeline.first_stage, query, top_k, {})
    if not len(first):
        return first
    hits = list(first)
    ranked = await state.rank(model, query.text, [h.text for h in hits])
    info = {"reranker": model.reranker.name, "documents": len(hits)}
    if "self_query" in first.info:
        info["self_query"] = first.info["self_query"]
    return reranked(hits, scores_by_position(ranked, len(hits)), min(top_k, len(hits)), info)


def _write_result(service: Any, counts: dict[str, int], generation: int) -> dict[str, Any]:
    index, _ = service.snapshot
    out = {key: int(counts.get(key, 0)) for key in ("added", "updated", "unchanged", "deleted")}
    out["documents"] = len(index)
    out["generation"] = generation
    return out
