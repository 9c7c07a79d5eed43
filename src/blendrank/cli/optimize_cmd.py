"""``blendrank optimize DIR``: merge an index's segments into one, dropping deleted
documents (after a bulk load, or many deletes)."""

from __future__ import annotations

import argparse
import json
import time


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "optimize", help="merge an index's segments into one, without deleted documents"
    )
    p.add_argument("dir", help="index directory")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blendrank.index.embedded import Index

    index = Index.open(args.dir)
    deleted = index.info()["deleted_documents"]
    start = time.perf_counter()
    merged = index.optimize(progress=not args.json)
    result: dict[str, float] = {
        **merged,
        "deleted_documents_dropped": deleted,
        "seconds": time.perf_counter() - start,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.dir}: {result['segments_before']} segment(s) -> {result['segments']}, "
            f"{deleted} deleted document(s) dropped, in {result['seconds']:.1f} s"
        )
    return 0
