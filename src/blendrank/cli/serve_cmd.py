"""``blendrank serve``: the HTTP service (rerank in the Cohere / Jina / TEI formats, search
and write an index). Needs ``pip install 'blendrank[serve]'``.

    blendrank serve --index kb-index --reranker minilm=/models/ms-marco-MiniLM-L-6-v2 \\
        --port 8080 --api-key "$KEY"
"""

from __future__ import annotations

import argparse
import os

from blendrank.errors import InvalidInputError

API_KEYS_ENV = "BLENDRANK_API_KEYS"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve reranking and search over HTTP",
        description="Serve rerankers (Cohere v1/v2, Jina and TEI rerank formats) and an "
        "index (search, document writes) over HTTP, with micro-batching, API keys, limits, "
        "Prometheus metrics and JSON logs. OpenAPI at /openapi.json, docs at /docs.",
    )
    p.add_argument(
        "--index", metavar="DIR", help="serve this index folder or store URI (search, documents)"
    )
    p.add_argument(
        "--reranker",
        metavar="[NAME=]SPEC",
        action="append",
        default=[],
        help="serve a reranker: a cross-encoder folder or hub id, or 'bi:<embedder>'; "
        "requests select it by NAME (default: the folder name or the spec). Repeatable; "
        "the first is the default for requests that name no model",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument(
        "--api-key",
        action="append",
        default=[],
        help=f"require 'Authorization: Bearer KEY' (repeatable; also ${API_KEYS_ENV}, "
        "comma-separated)",
    )
    p.add_argument("--max-documents", type=int, default=1000, help="documents per request")
    p.add_argument(
        "--max-document-chars", type=int, default=100_000, help="characters per document"
    )
    p.add_argument(
        "--max-body-bytes", type=int, default=16 * 2**20, help="request body size (16 MiB)"
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        help="seconds a connection may take to send a request's headers (10), then closed",
    )
    p.add_argument(
        "--body-timeout",
        type=float,
        default=30.0,
        help="seconds a request may take to send its body (30), then 408",
    )
    p.add_argument(
        "--max-request-tokens",
        type=int,
        default=400_000,
        help="model work per request, estimated as characters / 4 (400000: about 30 s of "
        "a MiniLM cross-encoder on two cores)",
    )
    p.add_argument(
        "--max-batch-pairs", type=int, default=256, help="(query, doc) pairs per model call"
    )
    p.add_argument(
        "--max-wait-ms", type=float, default=5.0, help="wait for more requests to batch (5)"
    )
    p.add_argument(
        "--max-queue-pairs", type=int, default=16_384, help="queued pairs per model before 429"
    )
    p.add_argument(
        "--no-batching",
        action="store_true",
        help="score each request in its own model call (for comparison)",
    )
    p.add_argument(
        "--request-timeout", type=float, default=30.0, help="seconds a request may wait (504)"
    )
    p.add_argument(
        "--shutdown-timeout", type=float, default=30.0, help="seconds to finish in-flight work"
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads per cross-encoder")
    p.add_argument("--quantize", choices=["int8"], default=None, help="int8 cross-encoders (ONNX)")
    p.add_argument(
        "--cache-size", type=int, default=0, help="score cache entries per model (0 = off)"
    )
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=run)


def api_keys(flags: list[str]) -> tuple[str, ...]:
    from_env = [k.strip() for k in os.environ.get(API_KEYS_ENV, "").split(",")]
    return tuple(k for k in [*flags, *from_env] if k)


def load_rerankers(
    specs: list[str], *, threads: int | None, quantize: str | None, cache_size: int
) -> dict:
    """name -> Reranker for each ``[NAME=]SPEC``."""
    from blendrank.registry import load_reranker, plugin_for
    from blendrank.rerank import LRUScoreCache
    from blendrank.service.registry import model_name, model_spec

    models: dict = {}
    for raw in specs:
        name, spec = model_name(raw), model_spec(raw)
        if name in models:
            raise InvalidInputError(
                f"two rerankers are called {name!r}; name them with --reranker NAME=SPEC"
            )
        # the server's --threads / --quantize go to the plugins that take them
        wanted = {"threads": threads, "quantize": "int8" if quantize == "int8" else None}
        takes = plugin_for("reranker", spec).options
        reranker = load_reranker(
            spec, **{k: v for k, v in wanted.items() if k in takes and v is not None}
        )
        if cache_size:
            reranker.cache = LRUScoreCache(cache_size)
        models[name] = reranker
    return models


def run(args: argparse.Namespace) -> int:
    from blendrank._optional import require

    for module in ("fastapi", "uvicorn", "prometheus_client"):
        require(module, "serve", "blendrank serve")
    from blendrank.service import ServiceConfig, create_app, serve

    if not args.index and not args.reranker:
        raise InvalidInputError("nothing to serve: pass --index DIR and/or --reranker SPEC")
    if not 0 < args.port < 65536:
        raise InvalidInputError(f"--port must be 1..65535, got {args.port}")
    if args.cache_size < 0:
        raise InvalidInputError(f"--cache-size must be >= 0, got {args.cache_size}")
    config = ServiceConfig(
        api_keys=api_keys(args.api_key),
        max_documents=args.max_documents,
        max_document_chars=args.max_document_chars,
        max_body_bytes=args.max_body_bytes,
        max_request_tokens=args.max_request_tokens,
        batching=not args.no_batching,
        max_batch_pairs=args.max_batch_pairs,
        max_wait_ms=args.max_wait_ms,
        max_queue_pairs=args.max_queue_pairs,
        request_timeout_s=args.request_timeout,
        shutdown_timeout_s=args.shutdown_timeout,
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout,
    )
    models = load_rerankers(
        args.reranker, threads=args.threads, quantize=args.quantize, cache_size=args.cache_size
    )
    app = create_app(models, index=args.index, config=config)
    serve(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        shutdown_timeout=args.shutdown_timeout,
        header_timeout=args.header_timeout,
    )
    return 0
