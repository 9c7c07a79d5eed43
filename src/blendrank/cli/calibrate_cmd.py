"""``blendrank calibrate``: fit a mapping from a reranker's raw scores to the probability
of relevance on a judged split, and write it beside the reranker spec.

    blendrank calibrate ../shared/data/scifact --reranker bi:all-MiniLM-L6-v2 \\
        --split train --eval-split test --out models/minilm.calibration.json
    blendrank search kb-index "seat limit" --rerank calibrated:models/minilm.calibration.json

Candidates are each query's BM25 top ``--candidates`` documents (an index of the corpus
built under ``--work-dir`` once); a pair is relevant when its qrels grade is at least
``--relevance-level``. The report gives the expected calibration error (10 bins) of the
reranker's own scores (mapped to [0, 1] by its declared scale) and of the calibrated ones,
on the split it was fitted on and, with ``--eval-split``, on held-out queries.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from blendrank.errors import InvalidInputError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "calibrate", help="fit a reranker's scores to probabilities on judged queries"
    )
    p.add_argument("dataset", help="a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    p.add_argument("--reranker", required=True, help="the reranker spec to calibrate")
    p.add_argument("--out", required=True, help="where to write the calibration (JSON)")
    p.add_argument("--method", choices=("platt", "isotonic"), default="platt")
    p.add_argument("--split", default="train", help="qrels split to fit on (default train)")
    p.add_argument("--eval-split", default=None, help="qrels split to report on as well")
    p.add_argument("--candidates", type=int, default=20, help="BM25 candidates per query")
    p.add_argument("--queries", type=int, default=None, help="use at most N queries per split")
    p.add_argument("--relevance-level", type=int, default=1)
    p.add_argument("--work-dir", default=".blendrank-eval", help="where the BM25 index is kept")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def judged_pairs(
    dataset: Any, index: Any, reranker: Any, candidates: int, queries: int | None, level: int
) -> tuple[list[float], list[int]]:
    """Raw reranker scores and labels of every (query, BM25 candidate) pair."""
    scores: list[float] = []
    labels: list[int] = []
    qids = [q for q in dataset.queries if q in dataset.qrels][: queries or None]
    for qid in qids:
        text = dataset.queries[qid]
        hits = index.search(text, top_k=candidates, mode="bm25", per="document")
        if not hits:
            continue
        documents = [dataset.corpus[h.doc_id] for h in hits]
        texts = [f"{d.title}\n{d.text}" if d.title else d.text for d in documents]
        raw = reranker.score_cached([(text, texts)])[0]
        judged = dataset.qrels.get(qid, {})
        scores += [float(s) for s in raw]
        labels += [int(judged.get(h.doc_id, 0) >= level) for h in hits]
    return scores, labels


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from blendrank.evaluate import load_beir
    from blendrank.evaluate.resources import IndexCache
    from blendrank.rerank import load_reranker
    from blendrank.rerank.calibration import (
        Calibration,
        expected_calibration_error,
        write_calibration,
    )
    from blendrank.service.scores import relevance_scores

    if args.candidates < 1:
        raise InvalidInputError(f"--candidates must be >= 1, got {args.candidates}")
    reranker = load_reranker(args.reranker)
    indexes = IndexCache(args.work_dir, progress=not args.quiet)
    settings = {
        "embedder": None,
        "analyzer": "auto",
        "chunk_size": 512,
        "chunk_overlap": 128,
        "bm25_k1": 1.5,
        "bm25_b": 0.75,
        "ann": False,
    }
    report: dict[str, Any] = {"reranker": args.reranker, "method": args.method}
    try:
        fit_set = load_beir(args.dataset, args.split)
        index = indexes.get(fit_set, settings)
        level = args.relevance_level
        scores, labels = judged_pairs(
            fit_set, index, reranker, args.candidates, args.queries, level
        )
        calibration = Calibration.fit(scores, labels, args.method)
        splits = [(args.split, scores, labels)]
        if args.eval_split:
            held = load_beir(args.dataset, args.eval_split)
            splits.append(
                (
                    args.eval_split,
                    *judged_pairs(held, index, reranker, args.candidates, args.queries, level),
                )
            )
        for name, raw, truth in splits:
            before = relevance_scores(np.asarray(raw), reranker.scale)
            report[name] = {
                "pairs": len(raw),
                "relevant": int(sum(truth)),
                "ece_before": round(expected_calibration_error(before, truth), 4),
                "ece_after": round(expected_calibration_error(calibration.apply(raw), truth), 4),
            }
    finally:
        indexes.close()
    write_calibration(
        args.out,
        args.reranker,
        calibration,
        fitted_on={
            "dataset": str(Path(args.dataset)),
            "split": args.split,
            "candidates": args.candidates,
        },
        report={k: v for k, v in report.items() if isinstance(v, dict)},
    )
    report["out"] = str(args.out)
    if args.json or not sys.stdout.isatty():
        print(json.dumps(report))
    else:
        for name, _, _ in splits:
            r = report[name]
            print(
                f"{name}: {r['pairs']} pairs ({r['relevant']} relevant), ECE "
                f"{r['ece_before']:.4f} -> {r['ece_after']:.4f}"
            )
        print(f"wrote {args.out}; use it as --rerank calibrated:{args.out}")
    return 0
