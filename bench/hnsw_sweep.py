"""HNSW at about 1M chunks: a sweep of connectivity (M), expansion at build (ef_construction)
and expansion at search (ef), as a recall@10 / latency curve, unfiltered and 10% filtered.

Same data as bench/dense_scale.py: synthetic vectors (real SciFact chunk embeddings plus
noise, L2-normalised) and the real SciFact test queries; ground truth is exact search.
Each graph is built once and cached in bench/cache/hnsw-sweep/ (a rerun reuses it, so the
sweep can be stopped and resumed); searches run on the saved file opened memory-mapped,
as an index opens it. Needs the cached SciFact index from bench/retrieval_quality.py.

    python bench/hnsw_sweep.py [--rows 1000000] [--builds 16:128,32:200] [--ef 64,128,512]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, load_beir, machine, percentile, save_json, write_section  # noqa: E402
from dense_scale import recall, synthetic_vectors, timed_search  # noqa: E402

FOLDER = CACHE / "hnsw-sweep"


def parse_builds(text: str) -> list[tuple[int, int]]:
    builds = []
    for item in text.split(","):
        m, _, efc = item.partition(":")
        builds.append((int(m), int(efc)))
    return builds


def ground_truth(exact_ret, qvecs: np.ndarray, mask: np.ndarray, k: int, rows: int) -> dict:
    path = FOLDER / f"truth-{rows}-{k}.npz"
    if path.exists():
        saved = np.load(path)
        return {"all": list(saved["all"]), "filtered": list(saved["filtered"])}
    exact, _ = timed_search(exact_ret, qvecs, k, exact=True)
    exact_f, _ = timed_search(exact_ret, qvecs, k, mask, exact=True)
    np.savez(path, all=np.stack(exact), filtered=np.stack(exact_f))
    return {"all": exact, "filtered": exact_f}


def graph(vectors: np.ndarray, m: int, efc: int, rows: int, dtype: str) -> tuple[Path, float]:
    """Path of the saved graph and its build seconds (from the cache when built before)."""
    from blendrank.index.dense import AnnConfig, build_hnsw

    path = FOLDER / f"hnsw-{rows}-{dtype}-M{m}-efc{efc}.usearch"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return path, json.loads(meta.read_text())["build_s"]
    config = AnnConfig(connectivity=m, expansion_add=efc, dtype=dtype)
    t0 = time.perf_counter()
    index = build_hnsw(vectors, config)
    build_s = time.perf_counter() - t0
    index.save(str(path))
    meta.write_text(json.dumps({"build_s": build_s}))
    del index
    return path, build_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--builds", default="16:128,32:200", help="M:ef_construction,...")
    parser.add_argument("--ef", default="64,128,192,256,384,512", help="search expansions")
    parser.add_argument("--dtype", default="f16")
    args = parser.parse_args()
    from usearch.index import Index as HnswIndex

    from blendrank import Index
    from blendrank.index.dense import AnnConfig, DenseRetriever

    path = CACHE / "index-scifact-default"
    if not path.exists():
        sys.exit(
            "run bench/retrieval_quality.py --datasets scifact first (it builds the cached index)"
        )
    FOLDER.mkdir(parents=True, exist_ok=True)
    index = Index.open(path)
    _, queries, _ = load_beir("scifact")
    base = np.asarray(index.chunk_vectors(index._state.chunk_ids), dtype=np.float32)
    qvecs = index.embedder.embed_queries(list(queries.values()))
    vectors = synthetic_vectors(base, args.rows)
    exact_ret = DenseRetriever(vectors)
    mask = np.random.default_rng(1).random(args.rows) < 0.10
    truth = ground_truth(exact_ret, qvecs, mask, args.k, args.rows)

    efs = [int(x) for x in args.ef.split(",")]
    points = []
    for m, efc in parse_builds(args.builds):
        file, build_s = graph(vectors, m, efc, args.rows, args.dtype)
        print(f"M={m} ef_construction={efc}: built in {build_s:.0f} s", flush=True)
        ann = HnswIndex.restore(str(file), view=True)
        for ef in efs:
            config = AnnConfig(connectivity=m, expansion_add=efc, expansion_search=ef)
            ann.expansion_search = ef
            ret = DenseRetriever(vectors, ann, config)
            # page the graph in and warm caches: one untimed pass of every query, both ways
            timed_search(ret, qvecs, args.k)
            timed_search(ret, qvecs, args.k, mask)
            found, times = timed_search(ret, qvecs, args.k)
            found_f, times_f = timed_search(ret, qvecs, args.k, mask)
            point = {
                "M": m,
                "ef_construction": efc,
                "ef": ef,
                "build_s": build_s,
                "file_mb": file.stat().st_size / 2**20,
                "recall": recall(found, truth["all"]),
                "p50_ms": percentile(times, 50),
                "p95_ms": percentile(times, 95),
                "recall_filtered": recall(found_f, truth["filtered"]),
                "p50_ms_filtered": percentile(times_f, 50),
                "p95_ms_filtered": percentile(times_f, 95),
            }
            print(json.dumps(point), flush=True)
            points.append(point)
        del ann

    result = {"machine": machine(), "rows": args.rows, "k": args.k, "points": points}
    save_json("hnsw_sweep", result)
    lines = [
        f"## HNSW sweep at {args.rows:,} chunks",
        "",
        f"Same data as the dense-scale section: synthetic vectors (real SciFact chunk embeddings "
        f"+ noise, dim {vectors.shape[1]}), {len(qvecs)} real SciFact queries, k={args.k}, one "
        f"query at a time after one untimed pass, usearch {args.dtype} storage, graph opened "
        "memory-mapped. Recall@10 "
        "is against exact search over the same rows; the filter allows a random 10% of rows "
        "(oversampled HNSW search, exact fallback when fewer than k pass).",
        "",
        "| M | ef_construction | build s | file MB | ef | recall@10 | p50 ms | p95 ms "
        "| recall@10, 10% filter | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        lines.append(
            f"| {p['M']} | {p['ef_construction']} | {p['build_s']:.0f} | {p['file_mb']:.0f} "
            f"| {p['ef']} | {p['recall']:.3f} | {p['p50_ms']:.2f} | {p['p95_ms']:.2f} "
            f"| {p['recall_filtered']:.3f} | {p['p50_ms_filtered']:.2f} "
            f"| {p['p95_ms_filtered']:.2f} |"
        )
    lines += ["", f"Machine: {machine()}. Reproduce: `python bench/hnsw_sweep.py`."]
    write_section("hnsw-sweep", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
