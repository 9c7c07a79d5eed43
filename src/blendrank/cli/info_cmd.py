"""``blendrank info DIR``: what an index holds and how it was built."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("info", help="show an index's size and settings")
    p.add_argument(
        "dir",
        help="index directory, or a store URI (qdrant+edge:DIR, postgresql://..., "
        "see docs/backends.md)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blendrank.backends import connect

    with connect(args.dir) as store:
        info = store.info()
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    settings = info.pop("settings", {})
    for key, value in info.items():
        print(f"{key:>16}: {value}")
    for key, value in settings.items():
        print(f"{key:>16}: {json.dumps(value, ensure_ascii=False)}")
    return 0
