"""Speed of the first stage on SciFact: BM25 search against plain bm25s (same run),
hybrid latency per query, indexing throughput and peak memory.

    python bench/retrieval_speed.py [--threads 2] [--rounds 5]

Writes the "retrieval-speed" section of docs/benchmarks.md and bench/results/retrieval_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_beir, machine, percentile, plain_bm25s_model, save_json, write_section  # noqa: E402


def index_in_subprocess(dataset: str, folder: Path, embedder: str | None, threads: int) -> dict:
    """Index a collection in a fresh process; report seconds and that process's peak RSS."""
    code = (
        "import sys, time, json, resource; sys.path.insert(0, 'bench');"
        "from _common import load_beir; from blendrank import Index;"
        f"docs, _, _ = load_beir({dataset!r});"
        f"t = time.perf_counter(); idx = Index.create({str(folder)!r}, embedder={embedder!r});"
        "idx.add(docs); s = time.perf_counter() - t;"
        "print(json.dumps({'seconds': s, 'docs': len(docs), 'chunks': idx.info()['chunks'],"
        " 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    )
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "BLENDRANK_THREADS": str(threads)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bm25_overhead(index, docs, queries: list[str], rounds: int) -> dict:
    """Per-query time of index.search(mode='bm25') vs bm25s tokenize + retrieve, interleaved."""
    import bm25s

    model, stemmer = plain_bm25s_model(docs)

    def plain(q: str) -> None:
        tokens = bm25s.tokenize([q], stopwords="en", stemmer=stemmer, show_progress=False)
        model.retrieve(tokens, k=10, show_progress=False)

    def ours(q: str) -> None:
        index.search(q, top_k=10, mode="bm25")

    for q in queries[:20]:  # warm up both
        plain(q)
        ours(q)
    times = {"bm25s": [], "blendrank": []}
    for _ in range(rounds):
        for name, fn in (("bm25s", plain), ("blendrank", ours)):
            t0 = time.perf_counter()
            for q in queries:
                fn(q)
            times[name].append((time.perf_counter() - t0) / len(queries))
    best = {k: min(v) for k, v in times.items()}
    return {
        "bm25s_ms_per_query": best["bm25s"] * 1e3,
        "blendrank_ms_per_query": best["blendrank"] * 1e3,
        "overhead_pct": (best["blendrank"] / best["bm25s"] - 1) * 100,
    }


def hybrid_latency(indexes: dict, queries: list[str], rounds: int = 3) -> dict:
    """p50/p95/p99 of hybrid search per index (same queries, interleaved query by query,
    ``rounds`` passes), query embedding included."""
    for index in indexes.values():
        for q in queries[:10]:
            index.search(q, top_k=10)
    total: dict[str, list[float]] = {name: [] for name in indexes}
    embed: dict[str, list[float]] = {name: [] for name in indexes}
    for _ in range(rounds):
        for q in queries:
            for name, index in indexes.items():
                timings: dict[str, float] = {}
                t0 = time.perf_counter()
                index.search(q, top_k=10, timings=timings)
                total[name].append((time.perf_counter() - t0) * 1e3)
                embed[name].append(timings.get("embed_query", 0.0) * 1e3)
    return {
        name: {
            "runtime": getattr(index.embedder, "runtime", "?"),
            "p50_ms": percentile(total[name], 50),
            "p95_ms": percentile(total[name], 95),
            "p99_ms": percentile(total[name], 99),
            "embed_query_p50_ms": percentile(embed[name], 50),
            "embed_query_p95_ms": percentile(embed[name], 95),
        }
        for name, index in indexes.items()
    }


def _with_onnx_runtime(index):
    """The same index with its queries embedded by ONNX Runtime (the runtime without the
    openvino extra); the stored vectors stay as they are."""
    from blendrank.embed import OnnxEmbedder

    config = {k: v for k, v in index.embedder.config().items() if k != "type"}
    config.update(backend="onnx", precision="auto")
    index._embedder = OnnxEmbedder(**config)
    return index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dataset", default="scifact")
    args = parser.parse_args()
    os.environ["BLENDRANK_THREADS"] = str(args.threads)
    from blendrank import Index

    docs, queries, _ = load_beir(args.dataset)
    qtexts = list(queries.values())
    tmp = Path(tempfile.mkdtemp(prefix="blendrank-bench-"))
    try:
        print("indexing (BM25 only) ...", flush=True)
        bm25_build = index_in_subprocess(args.dataset, tmp / "bm25", None, args.threads)
        print(bm25_build, flush=True)
        print("indexing (hybrid, default model) ...", flush=True)
        hybrid_build = index_in_subprocess(
            args.dataset, tmp / "hybrid", "all-MiniLM-L6-v2", args.threads
        )
        print(hybrid_build, flush=True)
        overhead = bm25_overhead(Index.open(tmp / "bm25"), docs, qtexts, args.rounds)
        print(overhead, flush=True)
        indexes = {"default": Index.open(tmp / "hybrid")}
        if indexes["default"].embedder.runtime != "onnx":
            indexes["onnx"] = _with_onnx_runtime(Index.open(tmp / "hybrid"))
        latency = hybrid_latency(indexes, qtexts)
        print(latency, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "machine": machine(),
        "threads": args.threads,
        "dataset": args.dataset,
        "bm25_build": bm25_build,
        "hybrid_build": hybrid_build,
        "bm25_vs_bm25s": overhead,
        "hybrid_latency": latency,
    }
    save_json("retrieval_speed", result)
    n = len(qtexts)
    lines = [
        "## First-stage speed (SciFact)",
        "",
        f"{len(docs)} documents, {n} test queries, top_k=10, {args.threads} threads, one query "
        "at a time; hybrid latency over 3 passes of the queries, the runtimes interleaved query "
        "by query. Indexing with the default embedder "
        f"({latency['default']['runtime']}).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| BM25 search, plain bm25s (tokenize + retrieve) | {overhead['bm25s_ms_per_query']:.3f} ms/query |",
        f'| BM25 search, blendrank `mode="bm25"` | {overhead["blendrank_ms_per_query"]:.3f} ms/query |',
        f"| blendrank BM25 overhead over bm25s | {overhead['overhead_pct']:+.1f}% |",
        *[
            f"| hybrid search latency p50 / p95 / p99 (query embedding included), "
            f"{'default, ' if name == 'default' else ''}queries on {r['runtime']} | "
            f"{r['p50_ms']:.1f} / {r['p95_ms']:.1f} / {r['p99_ms']:.1f} ms |\n"
            f"| of which query embedding p50 / p95, {r['runtime']} | "
            f"{r['embed_query_p50_ms']:.1f} / {r['embed_query_p95_ms']:.1f} ms |"
            for name, r in latency.items()
        ],
        f"| indexing, BM25 only | {bm25_build['docs'] / bm25_build['seconds']:.0f} docs/s, "
        f"peak RSS {bm25_build['peak_rss_mb']:.0f} MB |",
        f"| indexing, hybrid (chunk + BM25 + embed {hybrid_build['chunks']} chunks) | "
        f"{hybrid_build['docs'] / hybrid_build['seconds']:.1f} docs/s "
        f"({hybrid_build['seconds']:.0f} s), peak RSS {hybrid_build['peak_rss_mb']:.0f} MB |",
        "",
        f"Best of {args.rounds} interleaved rounds for the BM25 comparison (same queries, same k, "
        "same k1/b). Machine: " + machine() + ". Reproduce: `python bench/retrieval_speed.py`.",
    ]
    write_section("retrieval-speed", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
