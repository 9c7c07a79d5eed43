"""NDCG@10 of BM25, dense and hybrid for each chunking / long-text setting, to choose the
default: all-MiniLM-L6-v2 reads 256 tokens, so a 512-token chunk is either truncated for
dense retrieval or embedded as several windows.

    python bench/chunking_quality.py                      # SciFact, Cranfield, CACM
    python bench/chunking_quality.py --datasets cranfield --settings "256/64 truncate"

Every setting builds its own index in bench/cache/ (reused unless --rebuild). Writes the
"chunking" section of docs/benchmarks.md and bench/results/chunking_quality.json.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, load_beir, machine, ndcg_at_10, save_json, write_section  # noqa: E402

# label -> (chunk_size, chunk_overlap, long_texts)
SETTINGS = {
    "512/128 truncate": (512, 128, "truncate"),
    "256/64 truncate": (256, 64, "truncate"),
    "512/128 windows": (512, 128, "windows"),
    "256/64 windows": (256, 64, "windows"),
}
MODES = ("bm25", "dense", "hybrid")


def build(name: str, docs, label: str, rebuild: bool):
    from blendrank import Index

    size, overlap, long_texts = SETTINGS[label]
    path = CACHE / f"index-{name}-chunk{size}-{overlap}-{long_texts}"
    if rebuild and path.exists():
        shutil.rmtree(path)
    if path.exists():
        return Index.open(path), None
    t0 = time.perf_counter()
    embedder = {"type": "onnx", "model": "all-MiniLM-L6-v2", "long_texts": long_texts}
    index = Index.create(path, embedder=embedder, chunk_size=size, chunk_overlap=overlap)
    index.add(docs, progress=True)
    return index, time.perf_counter() - t0


def evaluate(name: str, label: str, rebuild: bool) -> dict:
    docs, queries, qrels = load_beir(name)
    index, seconds = build(name, docs, label, rebuild)
    info = index.info()
    row: dict = {"chunks": info["chunks"], "chunks_truncated": info.get("chunks_truncated")}
    if seconds is not None:
        row["index_seconds"] = round(seconds, 1)
    qids = list(queries)
    for mode in MODES:
        hits = index.search_many([queries[q] for q in qids], top_k=100, mode=mode, per="document")
        run = {q: {h.doc_id: h.score for h in hs} for q, hs in zip(qids, hits, strict=True)}
        row[mode] = ndcg_at_10(qrels, run)
        print(f"{name:10} {label:18} {mode:7} NDCG@10 {row[mode]:.4f}", flush=True)
    return row


def embedding_cost(n: int = 800, reps: int = 2) -> dict:
    """Seconds to embed the first ``n`` SciFact chunks (512/128) each way, same process,
    alternating, best of ``reps``: the price of windows at index time."""
    from blendrank.embed.onnx import OnnxEmbedder
    from blendrank.text.chunking import TokenChunker

    docs, _, _ = load_beir("scifact")
    chunks = TokenChunker(chunk_size=512, overlap=128).chunk_many(docs[:n])
    texts = [f"{c.title}\n{c.text}" for cs in chunks for c in cs][:n]
    embedders = {mode: OnnxEmbedder(long_texts=mode) for mode in ("truncate", "windows")}
    best = dict.fromkeys(embedders, float("inf"))
    for _ in range(reps):
        for mode, embedder in embedders.items():
            t0 = time.perf_counter()
            embedder.embed_documents(texts)
            best[mode] = min(best[mode], time.perf_counter() - t0)
    return {
        "texts": len(texts),
        "seconds": {m: round(s, 2) for m, s in best.items()},
        "windows_over_truncate": round(best["windows"] / best["truncate"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["scifact", "cranfield", "cacm"])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--cost-only", action="store_true", help="only the embedding cost")
    args = parser.parse_args()
    cost = embedding_cost()
    print("embedding cost", cost, flush=True)
    if args.cost_only:
        return
    results = {
        name: {label: evaluate(name, label, args.rebuild) for label in args.settings}
        for name in args.datasets
    }
    save_json("chunking_quality", {"machine": machine(), "results": results, "cost": cost})
    lines = [
        "## Chunk size and long chunks (NDCG@10)",
        "",
        "all-MiniLM-L6-v2 reads at most 256 tokens. `truncate`: a longer chunk is embedded from "
        "its first 256 tokens (what blendrank did before, and what sentence-transformers does); "
        "`windows`: it is embedded as 256-token windows overlapping by 32, averaged by token "
        "count. `chunks truncated` counts the chunks (title included) that lost tokens. "
        "BM25 k1=1.5 b=0.75, RRF k=60, int8 ONNX model, results collapsed per document.",
        "",
        "| collection | chunks (size/overlap, long chunks) | chunks | truncated | BM25 | dense | hybrid RRF |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, rows in results.items():
        for label, r in rows.items():
            truncated = "-" if r["chunks_truncated"] is None else str(r["chunks_truncated"])
            lines.append(
                f"| {name} | {label} | {r['chunks']} | {truncated} | {r['bm25']:.4f} | "
                f"{r['dense']:.4f} | {r['hybrid']:.4f} |"
            )
    lines += [
        "",
        f"Cost at index time: embedding the first {cost['texts']} SciFact chunks (512/128) takes "
        f"{cost['seconds']['windows']} s with windows and {cost['seconds']['truncate']} s "
        f"truncated ({cost['windows_over_truncate']}x; best of 2, same process, 2 threads). "
        "Queries are shorter than the window, so search costs the same.",
        "",
        f"Machine: {machine()}. Queries: every judged test query. "
        "Reproduce: `python bench/chunking_quality.py`.",
    ]
    write_section("chunking", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
