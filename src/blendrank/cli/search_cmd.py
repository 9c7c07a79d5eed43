"""``blendrank search DIR QUERY``: hybrid search from the command line."""

from __future__ import annotations

import argparse
import json
import shutil
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.options import SEARCH_OPTIONS
from blendrank.text.display import truncate


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("search", help="search an index")
    p.add_argument(
        "dir",
        help="index directory, or a store URI (qdrant+edge:DIR, postgresql://..., "
        "see docs/backends.md)",
    )
    p.add_argument("query", help="the query text")
    add_search_options(p)
    p.add_argument(
        "--retrievers",
        metavar="NAMES",
        help="comma-separated retrievers to fuse instead of --mode, e.g. bm25,dense,bm42 "
        "(any the index has: `blendrank info` lists them)",
    )
    p.add_argument("--weights", help='JSON, e.g. \'{"bm25": 0.3, "dense": 0.7}\'')
    p.add_argument("--filter", help='JSON metadata filter, e.g. \'{"year": {"gte": 2020}}\'')
    p.add_argument(
        "--rerank", metavar="MODEL", help="rerank with this model (see `blendrank rerank`)"
    )
    p.add_argument(
        "--rerank-blend",
        type=float,
        metavar="W",
        help="final = W x reranker + (1 - W) x first-stage score, both min-max normalised "
        "(choose W on held-out queries; default: reranker only)",
    )
    p.add_argument("--json", action="store_true", help="print JSON lines, one hit per line")
    p.set_defaults(func=run)


def add_search_options(parser: argparse.ArgumentParser) -> None:
    """One flag per scalar search option, its default and choices from the one table."""
    for option in SEARCH_OPTIONS.values():
        default = "" if option.default is None else f" (default {option.default})"
        parser.add_argument(
            option.flag,
            type=str if option.choices else int,
            choices=option.choices,
            default=option.default,
            help=option.help + default,
        )


def search_options(args: argparse.Namespace) -> dict:
    """The scalar search options from parsed flags."""
    return {name: getattr(args, name) for name in SEARCH_OPTIONS}


def parse_json_option(name: str, raw: str | None):
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"--{name} is not valid JSON ({exc.msg} at column {exc.colno}): {raw}"
        ) from None
    except RecursionError:
        raise InvalidInputError(f"--{name} is nested too deeply") from None
    if not isinstance(value, dict):
        raise InvalidInputError(f"--{name} must be a JSON object, got {raw}")
    return value


def run(args: argparse.Namespace) -> int:
    from blendrank.backends import connect

    filter_ = parse_json_option("filter", args.filter)
    weights = parse_json_option("weights", args.weights)
    with connect(args.dir) as index:
        return _search(args, index, filter_, weights)


def _search(args: argparse.Namespace, index: Any, filter_: Any, weights: Any) -> int:
    reranker = None
    if args.rerank:
        from blendrank.rerank import load_reranker

        reranker = load_reranker(args.rerank)
        if args.rerank_blend is not None:
            from blendrank.rerank import BlendReranker

            reranker = BlendReranker(reranker, args.rerank_blend)
    elif args.rerank_blend is not None:
        raise InvalidInputError("--rerank-blend needs --rerank MODEL")
    hits = index.search(
        args.query,
        filter=filter_,
        weights=weights,
        rerank=reranker,
        retrievers=args.retrievers,
        **search_options(args),
    )
    read = None
    if args.self_query != "off":  # what the search read from the question, to show it
        found = index.self_query_extractor().extract(args.query)
        read = {**found.to_dict(), "mode": args.self_query}
    if args.json:
        if read is not None:
            print(json.dumps({"self_query": read}, ensure_ascii=False))
        for hit in hits:
            print(json.dumps(hit.to_dict(), ensure_ascii=False))
        return 0
    if read is not None:
        print(
            f"self-query ({read['mode']}): filter {json.dumps(read['filter'], ensure_ascii=False)}"
            f", query {read['query']!r}"
        )
    if not hits:
        print("no results")
        return 0
    width = shutil.get_terminal_size((100, 20)).columns
    for rank, hit in enumerate(hits, 1):
        parts = " ".join(f"{k}={v:.3f}" for k, v in hit.scores.items())
        print(f"{rank:>2}. {hit.id}  score={hit.score:.4f}  ({parts})")
        if hit.title:
            print(f"    {truncate(hit.title, width - 4)}")
        snippet = " ".join(hit.text.split())
        print(f"    {truncate(snippet, width - 4)}")
        if hit.metadata:
            print(f"    {truncate(json.dumps(hit.metadata, ensure_ascii=False), width - 4)}")
    return 0
