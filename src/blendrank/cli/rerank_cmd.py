"""``blendrank rerank --model M --query Q --docs FILE``: rerank a list of documents.

FILE is JSON Lines (one object per line with ``text`` and optional ``id``/``_id`` and
``metadata``) or plain text (one document per non-blank line); ``-`` reads stdin. A file
ending in ``.jsonl``/``.json``, or whose first non-blank line starts with ``{``, is
read as JSON Lines.

    blendrank rerank --model bi:all-MiniLM-L6-v2 --query "cat sounds" --docs docs.txt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.text.display import display_width, fit, truncate


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "rerank",
        help="rerank documents from a file for one query",
        description="Score documents for a query with a reranker and print them best first.",
    )
    p.add_argument(
        "--model",
        required=True,
        help="'bi:<embedder>' (e.g. bi:all-MiniLM-L6-v2) or a cross-encoder folder / hub id",
    )
    p.add_argument("--query", required=True, help="the question to rank documents for")
    p.add_argument(
        "--docs",
        required=True,
        help="JSONL with 'text' (+ optional 'id', 'metadata'), or a text file with one "
        "document per line; '-' for stdin",
    )
    p.add_argument("--top-k", type=int, default=None, help="show only the best K (default all)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blendrank.rerank import load_reranker

    if args.top_k is not None and args.top_k < 1:
        raise InvalidInputError(f"--top-k must be >= 1, got {args.top_k}")
    documents = read_documents(args.docs)
    reranker = load_reranker(args.model)
    top_k = None if args.top_k is None else min(args.top_k, len(documents))
    results = reranker(args.query, documents, top_k)
    if args.json:
        payload = {
            "query": args.query,
            "model": args.model,
            "results": [
                {
                    "rank": rank,
                    "index": r.index,
                    "id": r.id,
                    "score": r.score,
                    "text": r.text,
                    "metadata": r.metadata,
                }
                for rank, r in enumerate(results, start=1)
            ],
            "info": results.info,
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"{'rank':>4}  {'score':>10}  {'id':<12} text")
    for rank, r in enumerate(results, start=1):
        label = r.id if r.id is not None else f"#{r.index}"
        print(f"{rank:>4}  {r.score:>10.4f}  {fit(label, 12)} {_snippet(r.text)}")
    return 0


def read_documents(source: str) -> list[dict[str, Any]]:
    """Documents as ``{"text", "id"?, "metadata"?}`` dicts from a JSONL or text file."""
    if source == "-":
        content, name = sys.stdin.read(), "<stdin>"
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise InvalidInputError(f"--docs {source!r}: no such file")
        content, name = path.read_text(encoding="utf-8"), str(path)
    lines = content.splitlines()
    first = next((line for line in lines if line.strip()), "")
    as_json = name.endswith((".jsonl", ".json")) or first.lstrip().startswith("{")
    documents = _json_lines(lines, name) if as_json else _text_lines(lines)
    if not documents:
        raise InvalidInputError(f"{name} holds no documents; put one document per line")
    return documents


def _text_lines(lines: list[str]) -> list[dict[str, Any]]:
    return [{"text": line.strip()} for line in lines if line.strip()]


def _json_lines(lines: list[str], name: str) -> list[dict[str, Any]]:
    documents = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{name}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise InvalidInputError(f"{name}:{number}: expected an object with a string 'text'")
        metadata = record.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise InvalidInputError(f"{name}:{number}: 'metadata' must be an object")
        doc: dict[str, Any] = {"text": record["text"], "metadata": metadata}
        raw_id = record.get("id", record.get("_id"))
        if raw_id is not None:
            doc["id"] = str(raw_id)
        documents.append(doc)
    return documents


def _snippet(text: str, width: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if display_width(flat) <= width else truncate(flat, width - 1) + "…"
