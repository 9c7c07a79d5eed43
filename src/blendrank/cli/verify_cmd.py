"""``blendrank verify DIR``: read every file of an index and check it against the
checksums its last commit recorded."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "verify", help="check every file of an index against the checksums of its last commit"
    )
    p.add_argument("dir", help="index directory")
    p.add_argument("--json", action="store_true", help='print {"ok": ..., "problems": [...]}')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blendrank.index.embedded import Index

    problems = Index.verify_folder(args.dir)
    if args.json:
        print(json.dumps({"ok": not problems, "problems": problems}, ensure_ascii=False))
    elif problems:
        for problem in problems:
            print(f"{args.dir}: {problem}")
        print("restore the folder from a backup, or rebuild it: blendrank index NEW_DIR FILES...")
    else:
        print(f"{args.dir}: every file matches its checksum")
    return 1 if problems else 0
