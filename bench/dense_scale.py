"""Dense search at about 1M chunks: exact vs HNSW (usearch) latency, memory and recall@10.

The 1M vectors are synthetic: each is a real SciFact chunk embedding (all-MiniLM-L6-v2)
plus Gaussian noise (cosine to its source about 0.8), L2-normalised; queries are the real
SciFact test queries. Needs the cached SciFact index from bench/retrieval_quality.py.

    python bench/dense_scale.py [--rows 1000000] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, load_beir, machine, percentile, save_json, write_section  # noqa: E402


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def synthetic_vectors(base: np.ndarray, rows: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    out = np.empty((rows, dim), dtype=np.float32)
    sigma = 0.75 / np.sqrt(dim)
    for lo in range(0, rows, 100_000):
        hi = min(rows, lo + 100_000)
        block = base[rng.integers(0, len(base), hi - lo)] + rng.normal(
            0, sigma, (hi - lo, dim)
        ).astype(np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[lo:hi] = block
    return out


def timed_search(retriever, queries: np.ndarray, k: int, mask=None, exact=False):
    results, times = [], []
    for q in queries:
        t0 = time.perf_counter()
        rows, _ = retriever.search(q, k, mask, exact=exact)
        times.append((time.perf_counter() - t0) * 1e3)
        results.append(rows)
    return results, times


def recall(approx: list[np.ndarray], exact: list[np.ndarray]) -> float:
    return float(
        np.mean(
            [
                len(set(a.tolist()) & set(e.tolist())) / max(1, len(e))
                for a, e in zip(approx, exact, strict=True)
            ]
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()
    from blendrank import Index
    from blendrank.index.dense import AnnConfig, DenseRetriever

    path = CACHE / "index-scifact-default"
    if not path.exists():
        sys.exit(
            "run bench/retrieval_quality.py --datasets scifact first (it builds the cached index)"
        )
    index = Index.open(path)
    _, queries, _ = load_beir("scifact")
    base = np.asarray(index.chunk_vectors(index._state.chunk_ids), dtype=np.float32)
    qvecs = index.embedder.embed_queries(list(queries.values()))
    before = rss_mb()
    vectors = synthetic_vectors(base, args.rows)
    exact_ret = DenseRetriever(vectors)
    vec_mb = rss_mb() - before

    config = AnnConfig()
    t0 = time.perf_counter()
    ann_ret = DenseRetriever.build(vectors, config)
    build_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        ann_ret.ann.save(os.path.join(tmp, "ann.usearch"))
        ann_mb = os.path.getsize(os.path.join(tmp, "ann.usearch")) / 2**20
    mask = np.random.default_rng(1).random(args.rows) < 0.10

    exact, t_exact = timed_search(exact_ret, qvecs, args.k, exact=True)
    approx, t_ann = timed_search(ann_ret, qvecs, args.k)
    exact_f, t_exact_f = timed_search(exact_ret, qvecs, args.k, mask, exact=True)
    approx_f, t_ann_f = timed_search(ann_ret, qvecs, args.k, mask)
    rows = {
        "exact": (t_exact, None),
        "hnsw": (t_ann, recall(approx, exact)),
        "exact, 10% filter": (t_exact_f, None),
        "hnsw, 10% filter": (t_ann_f, recall(approx_f, exact_f)),
    }
    result = {
        "machine": machine(),
        "rows": args.rows,
        "dim": int(vectors.shape[1]),
        "threads": args.threads,
        "vectors_mb": vec_mb,
        "hnsw_file_mb": ann_mb,
        "hnsw_build_s": build_s,
        "hnsw": config.to_dict(),
        "peak_rss_mb": rss_mb(),
        "search": {
            k: {"p50_ms": percentile(t, 50), "p95_ms": percentile(t, 95), "recall@10": r}
            for k, (t, r) in rows.items()
        },
    }
    save_json("dense_scale", result)
    lines = [
        f"## Dense search at {args.rows:,} chunks",
        "",
        f"Synthetic vectors (real SciFact chunk embeddings + noise, dim {vectors.shape[1]}), "
        f"{len(qvecs)} real SciFact queries, k={args.k}, one query at a time. HNSW: usearch, "
        f"{config.dtype} storage, connectivity {config.connectivity}, expansion add/search "
        f"{config.expansion_add}/{config.expansion_search}; built in {build_s:.0f} s.",
        "",
        "| search | p50 ms | p95 ms | recall@10 vs exact |",
        "|---|---|---|---|",
    ]
    for name, (t, r) in rows.items():
        lines.append(
            f"| {name} | {percentile(t, 50):.2f} | {percentile(t, 95):.2f} | "
            f"{'—' if r is None else f'{r:.3f}'} |"
        )
    lines += [
        "",
        f"Memory: float32 vectors {vec_mb:.0f} MB; HNSW index file {ann_mb:.0f} MB; "
        f"process peak RSS {result['peak_rss_mb']:.0f} MB. "
        "Filtered HNSW oversamples by the inverse selectivity and falls back to exact search "
        "when fewer than k allowed rows come back.",
        "",
        f"Machine: {machine()}. Reproduce: `python bench/dense_scale.py`.",
    ]
    write_section("dense-scale", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
