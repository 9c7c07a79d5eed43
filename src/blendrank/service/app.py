"""The FastAPI application: routes, auth, error bodies, lifespan. Build it with
:func:`blendrank.service.create_app`; ``blendrank serve`` runs it with uvicorn.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from blendrank._version import __version__
from blendrank.errors import (
    BlendrankError,
    DiskFullError,
    IndexLockedError,
    InvalidInputError,
    RemoteModelError,
)
from blendrank.service.config import ServiceConfig
from blendrank.service.edge import EdgeMiddleware
from blendrank.service.errors import ServiceError, error_body
from blendrank.service.index_routes import index_router
from blendrank.service.index_service import IndexService, StoreService
from blendrank.service.metrics import ServiceMetrics
from blendrank.service.registry import ModelRegistry
from blendrank.service.rerank_routes import rerank_router
from blendrank.service.schemas import ErrorResponse
from blendrank.service.state import ServiceState

_ERRORS = {
    400: "Invalid value (blank query, malformed filter, ...)",
    401: "Missing or invalid API key",
    404: "Unknown model, document, or no index on this server",
    413: "Body, document count or document length over the server's limits",
    415: "Body not sent as JSON (Content-Type must be application/json)",
    422: "Body does not match the schema, or a text is too long with truncate=false",
    429: "Queue full; retry after Retry-After seconds",
    502: "The model's own server (an LLM server, a hosted API) failed",
    503: "Shutting down; retry elsewhere",
    504: "Not scored within the request timeout",
    507: "No space left on the index's disk; nothing was committed",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text} for code, text in _ERRORS.items()
}

DESCRIPTION = """Hybrid search and reranking over HTTP.

Rerank in the formats clients already send: Cohere v2 (`POST /v2/rerank`), Cohere v1 and
Jina (`POST /v1/rerank`), Hugging Face TEI (`POST /rerank`). Concurrent cross-encoder
requests are micro-batched into shared model calls. Search an index (`POST /search`) and
write to it (`PUT`/`POST`/`DELETE /documents`); writes are durable when acknowledged.
Every error is a JSON body with a `message` saying what to fix.
"""


class Health(BaseModel):
    status: str
    version: str
    models: list[str]
    index: dict[str, Any] | None


def _json_error(request: Request, status: int, message: str, error_type: str, **headers: str):
    request_id = getattr(request.state, "request_id", None)
    service = getattr(request.app.state, "service", None)
    if service is not None:  # never the server's own paths in a response
        message = service.redact(message)
    return JSONResponse(
        error_body(status, message, error_type, request_id), status_code=status, headers=headers
    )


def _validation_message(errors: Any) -> str:
    parts = []
    for error in list(errors)[:8]:
        if error.get("type") == "json_invalid":
            detail = (error.get("ctx") or {}).get("error", "")
            return f"request body is not valid JSON ({detail}); send a JSON object"
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Every error becomes the same JSON shape; no handler ever shows a stack trace."""

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        return _json_error(request, exc.status, exc.message, exc.error_type, **exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        content_type = request.headers.get("content-type", "")
        body_is_not_json = request.method in ("POST", "PUT") and "json" not in content_type
        if body_is_not_json and any(e.get("loc") == ("body",) for e in exc.errors()):
            message = (
                f"the body was sent as {content_type or 'no content type'!r}; send a JSON "
                "object with the header Content-Type: application/json"
            )
            return _json_error(request, 415, message, "unsupported_media_type")
        return _json_error(request, 422, _validation_message(exc.errors()), "validation")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = str(exc.detail)
        if exc.status_code == 404:
            message = f"no route {request.method} {request.url.path}; the API is at /docs"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        headers = dict(exc.headers or {})
        return _json_error(request, exc.status_code, message, "http", **headers)

    @app.exception_handler(InvalidInputError)
    async def invalid_input(request: Request, exc: InvalidInputError) -> Response:
        return _json_error(request, 400, str(exc), "invalid_request")

    @app.exception_handler(IndexLockedError)
    async def index_locked(request: Request, exc: IndexLockedError) -> Response:
        return _json_error(request, 503, str(exc), "unavailable", **{"Retry-After": "1"})

    @app.exception_handler(DiskFullError)
    async def disk_full(request: Request, exc: DiskFullError) -> Response:
        message = "no space left on the index's disk; nothing was committed: free space and retry"
        return _json_error(request, 507, message, "insufficient_storage")

    @app.exception_handler(RemoteModelError)
    async def remote_model_error(request: Request, exc: RemoteModelError) -> Response:
        # the model behind this one (an LLM server, a hosted API) failed: a gateway error
        return _json_error(request, 502, f"the model's own server failed: {exc}", "bad_gateway")

    @app.exception_handler(BlendrankError)
    async def blendrank_error(request: Request, exc: BlendrankError) -> Response:
        return _json_error(request, 500, f"{type(exc).__name__}: {exc}", "internal")


def _auth_dependency(keys: tuple[str, ...]) -> Any:
    bearer = HTTPBearer(
        auto_error=False, description="An API key given to `blendrank serve --api-key`"
    )
    encoded = [k.encode() for k in keys]

    async def require_api_key(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> None:
        if credentials is None:
            raise ServiceError(
                401,
                "missing API key: send the header 'Authorization: Bearer <key>'",
                error_type="unauthorized",
                headers={"WWW-Authenticate": "Bearer"},
            )
        given = credentials.credentials.encode()
        if not any(hmac.compare_digest(given, key) for key in encoded):
            raise ServiceError(
                401,
                "invalid API key: the Bearer token is not one of this server's keys",
                error_type="unauthorized",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return Depends(require_api_key)


def build_app(models: Mapping[str, Any], index: Any, config: ServiceConfig) -> FastAPI:
    """The app over already loaded models (name -> Reranker) and an optional Index."""
    metrics = ServiceMetrics()
    state = ServiceState(
        ModelRegistry(models),
        _index_service(index),
        config,
        metrics,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await state.close()  # uvicorn has already let in-flight requests finish

    app = FastAPI(
        title="blendrank", version=__version__, description=DESCRIPTION, lifespan=lifespan
    )
    app.state.service = state
    install_error_handlers(app)
    auth = [_auth_dependency(config.api_keys)] if config.api_keys else []
    app.include_router(rerank_router(state, ERROR_RESPONSES), dependencies=auth)
    app.include_router(index_router(state, ERROR_RESPONSES), dependencies=auth)

    @app.get("/health", response_model=Health, tags=["operations"], summary="Liveness")
    async def health() -> JSONResponse:
        if state.index is not None:
            await state.index.current()  # a commit by another process shows up here too
        return JSONResponse(
            {
                "status": "shutting_down" if state.closing else "ok",
                "version": __version__,
                "models": list(state.models.names),
                "index": state.index.stats() if state.index is not None else None,
            }
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}, 401: ERROR_RESPONSES[401]},
        dependencies=auth,
    )
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    app.add_middleware(
        EdgeMiddleware,
        max_body_bytes=config.max_body_bytes,
        metrics=metrics,
        body_timeout=config.body_timeout_s,
    )
    return app


def _index_service(index: Any) -> IndexService | StoreService | None:
    if index is None:
        return None
    from blendrank.index.embedded import Index

    return IndexService(index) if isinstance(index, Index) else StoreService(index)
