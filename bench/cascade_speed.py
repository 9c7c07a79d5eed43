"""Cascade reranking end to end against sentence-transformers' cross-encoder over all
candidates: CascadeReranker(bi-encoder on the index's stored embeddings, cross-encoder on
the top N) vs ``CrossEncoder.predict`` on all 100, same weights, same threads, one run.

    python bench/cascade_speed.py [--threads 2] [--top-n 20] [--reps 20] [--skip-openvino]

The 100 candidates of one query (TREC DL 2020 BM25 top-100; SciFact bm25s top-100) are
indexed with the default embedder, searched, and the 100 hits reranked; the cascade's
first stage reuses the hits' stored dense scores. Each cascade is timed ``--reps`` times
(p50 and p95 per query), interleaved with the others; sentence-transformers, which takes
seconds a pass, in the first ``--st-reps`` rounds only. Writes the "cascade-speed" section
of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, save_json, write_section  # noqa: E402
from rerank_speed import build_model, dl20_pairs, scifact_pairs  # noqa: E402

PAUSE_S = 0.1  # untimed, before each timed call


def hits_for(query: str, texts: list[str], folder: Path):
    """An index over exactly these candidates; its hybrid search returns all of them."""
    from blendrank import Document, Index

    index = Index.create(folder)
    index.add([Document(f"c{i}", t) for i, t in enumerate(texts)])
    hits = index.search(query, top_k=len(texts), candidates=2 * len(texts), per="document")
    assert all("dense" in h.scores for h in hits)  # the cascade reuses stored dense scores
    assert len(hits) == len(texts), (len(hits), len(texts))
    return index, hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--top-n", type=int, default=20)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--st-reps", type=int, default=5)
    parser.add_argument(
        "--skip-openvino",
        action="store_true",
        help="leave out the OpenVINO int8 cross-encoder (needs blendrank[openvino-int8])",
    )
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch
    from sentence_transformers import CrossEncoder

    from blendrank.rerank import BiEncoderReranker, CascadeReranker, CrossEncoderReranker

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="blendrank-cascade-"))
    model_dir = build_model(tmp / "ce")
    reference = CrossEncoder(str(model_dir), device="cpu")
    rows = {}
    for name, (query, texts) in {
        "TREC DL 2020": dl20_pairs(100),
        "SciFact": scifact_pairs(100),
    }.items():
        index, hits = hits_for(query, texts, tmp / name.replace(" ", "-"))
        variants = {}
        for backend, quant in (
            ("onnx", None),
            ("openvino", None),
            ("onnx", "int8"),
            ("openvino", "int8"),
            ("openvino", "bf16"),
        ):
            if backend == "openvino" and args.skip_openvino:
                continue
            cross = CrossEncoderReranker(
                model_dir, backend=backend, quantize=quant, threads=args.threads
            )
            cascade = CascadeReranker(BiEncoderReranker(index.embedder), cross, top_n=args.top_n)
            variants[f"cascade N={args.top_n}, cross {backend} {quant or 'fp32'}"] = (
                lambda c=cascade, q=query, h=hits: c.rerank(q, h, 10)
            )
        variants["sentence-transformers CrossEncoder, all 100"] = lambda q=query, hs=hits: (
            reference.predict([(q, h.text) for h in hs], batch_size=32)
        )
        for fn in variants.values():  # warm up (exports, sessions, caches)
            fn()
        times: dict[str, list[float]] = {k: [] for k in variants}
        for rep in range(args.reps):
            for label, fn in variants.items():
                if label.startswith("sentence") and rep >= args.st_reps:
                    continue
                # a pause between variants: ONNX Runtime's threads spin for a while after
                # a run and would take the cores from the next variant (measured: the
                # OpenVINO int8 cascade 70 -> 88 ms p50 right after an ORT one, on 2 cores);
                # a user runs one cross-encoder, so no variant may pay for another's spin
                time.sleep(PAUSE_S)
                t0 = time.perf_counter()
                fn()
                times[label].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        p95 = {k: sorted(v)[max(0, round(0.95 * len(v)) - 1)] for k, v in times.items()}
        ref = med["sentence-transformers CrossEncoder, all 100"]
        rows[name] = {
            k: {"seconds": v, "p95_seconds": p95[k], "speedup": ref / v, "n": len(times[k])}
            for k, v in med.items()
        }
        print(name, {k: f"{v * 1e3:.0f} ms ({ref / v:.1f}x)" for k, v in med.items()}, flush=True)
    save_json(
        "cascade_speed",
        {"machine": machine(), "threads": args.threads, "top_n": args.top_n, "rows": rows},
    )
    lines = [
        "## Cascade vs a cross-encoder over all candidates",
        "",
        f"100 candidates of one query, reranked to the top 10. Cascade: the bi-encoder scores all 100 "
        f"from the index's stored embeddings (no document is embedded), the cross-encoder (MiniLM-L6 "
        f"architecture with a fresh 1-logit head; ONNX Runtime fp32 or int8, OpenVINO fp32 "
        f"(the default where openvino is installed), NNCF int8 or bf16) scores the top "
        f"{args.top_n}. Reference: sentence-transformers `CrossEncoder.predict` (torch CPU) on "
        f"all 100, same weights. {args.threads} threads; p50 and p95 over {args.reps} "
        f"interleaved passes ({args.st_reps} for sentence-transformers), with an untimed "
        f"{PAUSE_S * 1e3:.0f} ms pause before each call so that no variant runs while ONNX "
        "Runtime's threads still spin from the previous one.",
        "",
        "| candidates | variant | p50 ms | p95 ms | speed-up vs ST (p50) |",
        "|---|---|---:|---:|---:|",
    ]
    for name, variants in rows.items():
        for label, r in variants.items():
            lines.append(
                f"| {name} | {label} | {r['seconds'] * 1e3:.0f} | {r['p95_seconds'] * 1e3:.0f} "
                f"| {r['speedup']:.1f}x |"
            )
    lines += ["", f"Machine: {machine()}. Reproduce: `python bench/cascade_speed.py`."]
    write_section("cascade-speed", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
