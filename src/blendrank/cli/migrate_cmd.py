"""``blendrank migrate SRC DEST``: copy an index or store (documents, chunks, vectors) to
another store without embedding again; resumable (run it again after an interruption)."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "migrate",
        help="copy an index or store to another store (no re-embedding, resumable)",
        description=__doc__,
    )
    p.add_argument("source", help="index folder or store URI to copy from")
    p.add_argument("destination", help="store URI or new folder to copy into")
    p.add_argument("--batch", type=int, default=500, help="documents per write (default 500)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blendrank.backends.migrate import migrate

    counts = migrate(args.source, args.destination, batch=args.batch, progress=not args.quiet)
    if args.json or not sys.stdout.isatty():
        print(json.dumps(counts))
    else:
        print(
            f"{counts['documents']} documents: {counts['added']} added, {counts['updated']} "
            f"updated, {counts['unchanged']} already there; {counts['re_embedded']} chunks "
            "embedded again"
        )
    return 0
