"""Train cross-encoders with ``blendrank.train`` and measure them (issue #6's recipe).

    python bench/train_recipe.py scifact-train   # SciFact train split only, ~30-60 min CPU
    python bench/train_recipe.py scifact-eval    # SciFact test: hybrid vs + cross-encoder
    python bench/train_recipe.py dl20            # TREC DL 2020, 2-fold cross-validation

SciFact: the model trains on ``qrels/train.tsv`` queries only (10% of them held out for
validation and early stopping), with hard negatives mined by the default hybrid index;
the test queries are never seen. Evaluation reranks each test query's hybrid (RRF) top
``--depth`` candidates (per document) with the trained model through blendrank's
``CrossEncoderReranker`` (ONNX fp32 and int8), and the cascade (bi-encoder scores from the
index's stored embeddings, cross-encoder on the top 20 of the hybrid top 100, alpha 0.7).
DL 2020: the 54 queries are split in two seeded halves; a model trained on one half's
judgments (negatives mined by BM25 over the passage pool, plus judged non-relevant ones)
reranks the other half's BM25 top-100 run, and vice versa.

Models go to bench/cache/models/ (not committed); figures to docs/benchmarks.md
("train-scifact", "train-dl20") and bench/results/.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, DATA, load_beir, machine, save_json, write_section  # noqa: E402

MODELS = CACHE / "models"
SCIFACT_CONFIG = dict(
    loss="listwise",
    epochs=4,
    batch_groups=4,
    hard_negatives=4,
    random_negatives=1,
    max_length=256,
    learning_rate=7e-5,
    head_learning_rate=5e-4,
    precision="bf16",
    retriever="hybrid",
    mining_depth=50,
    val_fraction=0.1,
    val_depth=20,
    val_max_queries=80,
    eval_every=100,
    patience=3,
    seed=0,
    threads=2,
)
DL20_CONFIG = dict(
    loss="listwise",
    epochs=2,
    batch_groups=4,
    hard_negatives=3,
    random_negatives=1,
    max_length=160,
    learning_rate=1e-4,
    head_learning_rate=5e-4,
    precision="bf16",
    retriever="bm25",
    mining_depth=50,
    min_positive_grade=2,
    max_positives_per_query=16,
    val_fraction=0.0,
    seed=0,
    threads=2,
)


def scifact_index():
    from blendrank import Index

    path = CACHE / "index-scifact-default"
    if path.exists():
        return Index.open(path)
    docs, _, _ = load_beir("scifact")
    index = Index.create(path)
    index.add(docs, progress=True)
    return index


def train_scifact(args) -> None:
    from blendrank.train import TrainConfig, load_beir_training, train_cross_encoder

    config = TrainConfig.from_dict({**SCIFACT_CONFIG, **json.loads(args.config or "{}")})
    data = load_beir_training(DATA / "scifact", "train")
    result = train_cross_encoder(
        data, args.model or MODELS / "scifact-ce", config, index=scifact_index(), overwrite=True
    )
    h = result.history
    print(
        json.dumps(
            {
                k: h[k]
                for k in (
                    "best_val_ndcg@10",
                    "best_step",
                    "steps",
                    "seconds",
                    "peak_rss_mb",
                    "evals",
                    "val_first_stage_ndcg@10",
                )
            }
        )
    )


VARIANTS = {  # name -> CrossEncoderReranker options
    "fp32": {"backend": "onnx"},
    "int8": {"backend": "onnx", "quantize": "int8"},
    "openvino-int8": {"backend": "openvino", "quantize": "int8"},
}


def _ce(model: Path, variant: str):
    from blendrank.rerank import CrossEncoderReranker

    return CrossEncoderReranker(model, threads=2, **VARIANTS[variant])


def _weights_hash(model: Path) -> str:
    import hashlib

    h = hashlib.sha256((model / "model.safetensors").read_bytes())
    h.update((model / "tokenizer_config.json").read_bytes())  # the scoring window
    return h.hexdigest()[:12]


def cached_scores(model: Path, name: str, variant: str, compute) -> dict:
    """Scores of one variant, cached under bench/cache keyed by the model's weights."""
    from blendrank.rerank.cross_encoder.export import EXPORT_VERSION

    tag = f"{variant}-x{EXPORT_VERSION}" if variant == "int8" else variant  # export recipe
    path = CACHE / "train-eval" / f"{name}-{_weights_hash(model)}-{tag}.json"
    if path.exists():
        return json.loads(path.read_text())
    scores = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(scores))
    return scores


def _ranked(doc_ids, scores):
    order = sorted(range(len(doc_ids)), key=lambda i: (-scores[i], doc_ids[i]))
    return [doc_ids[i] for i in order]


BLEND_GRID = [round(0.1 * i, 1) for i in range(11)]


def _score_candidates(model, variant, queries, texts, first, depth, name):
    """Cross-encoder scores of each query's hybrid top ``depth`` plus its dense top 20
    (the cascade's candidates), cached per model weights and variant. ``texts``: doc id ->
    "title\nabstract", the text every cross-encoder run scores."""
    import numpy as np

    def compute():
        from tqdm.auto import tqdm

        rf = _ce(model, variant)
        rf.score("warm up", ["warm up"])
        out: dict = {"scores": {}}
        start = time.perf_counter()
        for qid, hits in tqdm(first.items(), desc=f"{name} {variant}", unit="q"):
            ids = [h.doc_id for h in hits]
            dense = np.array([h.scores.get("dense", -1.0) for h in hits])
            top20 = [ids[i] for i in np.argsort(-dense, kind="stable")[:20]]
            need = list(dict.fromkeys(ids[:depth] + top20))
            values = rf.score(queries[qid], [texts[d] for d in need])
            out["scores"][qid] = dict(zip(need, map(float, values), strict=True))
        out["seconds_per_query"] = (time.perf_counter() - start) / len(first)
        return out

    return cached_scores(model, f"{name}-d{depth}", variant, compute)


def _pipelines(first, scores, depth, blend_weight):
    """Runs of the three second-stage pipelines over the same cached scores.

    ``cross-encoder``: the top ``depth`` re-sorted by the cross-encoder; ``blend``:
    ``BlendReranker`` (weight x minmax(cross) + (1 - weight) x minmax(RRF) over the top
    ``depth``); ``cascade``: ``CascadeReranker`` (bi-encoder top 20, alpha 0.7).
    """
    import numpy as np

    from blendrank.rerank.combinators.cascade import cascade_scores

    runs: dict[str, dict] = {"ce": {}, "blend": {}, "cascade": {}}
    for qid, hits in first.items():
        ids = [h.doc_id for h in hits]
        top = np.arange(min(depth, len(ids)))
        second = np.array([scores[qid][ids[i]] for i in top])
        fused = np.array([h.score for h in hits])
        runs["ce"][qid] = _as_run(ids, cascade_scores(fused, top, second, 1.0))
        runs["blend"][qid] = _as_run(ids, cascade_scores(fused, top, second, blend_weight))
        dense = np.array([h.scores.get("dense", -1.0) for h in hits])
        top20 = np.argsort(-dense, kind="stable")[:20]
        second20 = np.array([scores[qid][ids[i]] for i in top20])
        runs["cascade"][qid] = _as_run(ids, cascade_scores(dense, top20, second20, 0.7))
    return runs


def _as_run(ids, values):
    return {d: float(v) for d, v in zip(ids, values, strict=True)}


def tune_blend(model: Path, index, texts: dict, depth: int) -> tuple[float, dict]:
    """The blend weight that maximises NDCG@10 on the model's held-out **train** queries
    (the validation split ``blendrank.train`` kept out of training), never on test."""
    from _common import ndcg_at_10

    from blendrank.train import load_beir_training

    config = json.loads((model / "training.json").read_text())["config"]
    data = load_beir_training(DATA / "scifact", "train")
    _, val = data.split(config["val_fraction"], config["seed"])
    queries = {q.qid: q.text for q in val.queries}
    qrels = {q.qid: dict(q.judged) for q in val.queries}
    first = {
        qid: index.search(text, top_k=100, per="document", candidates=100)
        for qid, text in queries.items()
    }
    cached = _score_candidates(model, "fp32", queries, texts, first, depth, "scifact-val")
    scores = cached["scores"]
    table = {}
    for w in BLEND_GRID:
        runs = _pipelines(first, scores, depth, w)
        table[w] = ndcg_at_10(qrels, runs["blend"])
    best = max(BLEND_GRID, key=lambda w: (table[w], -abs(w - 0.5)))
    return best, {"queries": len(queries), "ndcg@10_by_weight": table}


def eval_scifact(args) -> None:
    from _common import ndcg_at_10

    model = Path(args.model or MODELS / "scifact-ce")
    docs, queries, qrels = load_beir("scifact", "test")
    texts = {d.id: f"{d.title}\n{d.text}" if d.title else d.text for d in docs}
    index = scifact_index()
    weight, tuning = tune_blend(model, index, texts, args.depth)
    print(f"blend weight {weight} (validation NDCG@10 by weight: {tuning['ndcg@10_by_weight']})")
    first = {
        qid: index.search(q, top_k=100, per="document", candidates=100)
        for qid, q in queries.items()
    }
    runs: dict[str, dict] = {"hybrid RRF": {q: _run(h) for q, h in first.items()}}
    timings = {}
    for variant in VARIANTS:
        cached = _score_candidates(model, variant, queries, texts, first, args.depth, "scifact")
        timings[variant] = cached["seconds_per_query"]
        got = _pipelines(first, cached["scores"], args.depth, weight)
        runs[f"hybrid + cross-encoder top {args.depth} ({variant})"] = got["ce"]
        runs[f"hybrid + blend weight {weight} top {args.depth} ({variant})"] = got["blend"]
        runs[f"hybrid + cascade bi>cross top 20, alpha 0.7 ({variant})"] = got["cascade"]
    results = {name: ndcg_at_10(qrels, run) for name, run in runs.items()}
    scores = cached["scores"]
    pairs = sum(len(v) for v in scores.values()) / len(scores)
    training = json.loads((model / "training.json").read_text())
    payload = {
        "machine": machine(),
        "ndcg@10": results,
        "blend_tuning": {"weight": weight, **tuning},
        "ce_seconds_per_query": timings,
        "training": {
            k: training[k]
            for k in ("seconds", "peak_rss_mb", "steps", "best_step", "best_val_ndcg@10", "threads")
        },
        "config": training["config"],
        "data": training["data"],
        "depth": args.depth,
    }
    save_json("train-scifact", payload)
    rows = "\n".join(f"| {name} | {value:.4f} |" for name, value in results.items())
    val_rows = " · ".join(f"{w}: {v:.3f}" for w, v in tuning["ndcg@10_by_weight"].items())
    t = training
    c = t["config"]
    write_section(
        "train-scifact",
        f"""### Trained cross-encoder on SciFact (`bench/train_recipe.py`)

Machine: {machine()}; 2 threads. Model: all-MiniLM-L6-v2 encoder + fresh one-logit head,
fine-tuned by `blendrank.train` on SciFact **train** queries only ({t["data"]["train_queries"]}
train, {t["data"]["val_queries"]} held out for early stopping), {c["loss"]} loss, hard
negatives from the default hybrid index (depth {c["mining_depth"]}), max length
{c["max_length"]}, lr {c["learning_rate"]} (head {c.get("head_learning_rate")}),
precision {c.get("precision", "fp32")}, {t["steps"]} steps; training took
{t["seconds"] / 60:.1f} min on this CPU ({t["threads"]} threads), peak RSS
{t["peak_rss_mb"]} MB; best validation NDCG@10 {t["best_val_ndcg@10"]:.4f} at step
{t["best_step"]}.

Blend weight chosen on those {tuning["queries"]} held-out train queries (NDCG@10 of the
blend by weight, fp32: {val_rows}): **{weight}**.

SciFact **test** (300 queries), NDCG@10; candidates = hybrid RRF top 100 per document;
the cross-encoder scores the top {args.depth} (ONNX Runtime or OpenVINO; long abstracts
split into windows of the training length, max-aggregated):

| pipeline | NDCG@10 |
|---|---:|
{rows}

Cross-encoder time per query (top {args.depth} + the cascade's candidates, {pairs:.1f}
pairs on average): {", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items())}.
""",
    )
    print(json.dumps(payload["ndcg@10"], indent=1))


def _run(hits):
    return {h.doc_id: float(len(hits) - r) for r, h in enumerate(hits)}


def dl20(args) -> None:
    import numpy as np

    from blendrank.evaluate.datasets import load_rerank_set
    from blendrank.evaluate.metrics import evaluate_ranking
    from blendrank.rerank import BiEncoderReranker
    from blendrank.rerank.combinators.cascade import cascade_scores
    from blendrank.train import TrainConfig, load_trec_training, train_cross_encoder

    folder = DATA / "trec-dl20"
    dataset, bm25 = load_rerank_set(folder, "runs/bm25.trec")
    qids = sorted(dataset.queries)
    random.Random(0).shuffle(qids)
    folds = [set(qids[: len(qids) // 2]), set(qids[len(qids) // 2 :])]
    texts = {
        d: (f"{doc.title}\n{doc.text}" if doc.title else doc.text)
        for d, doc in dataset.corpus.items()
    }
    config = TrainConfig.from_dict({**DL20_CONFIG, **json.loads(args.config or "{}")})
    bi = BiEncoderReranker()
    runs: dict[str, dict] = {"BM25 run": {}, "bi-encoder": {}}
    train_info = []
    for fold, (train_q, test_q) in enumerate([(folds[0], folds[1]), (folds[1], folds[0])]):
        model = MODELS / f"dl20-fold{fold}"
        if not args.skip_training or not model.exists():
            data = load_trec_training(
                folder / "qrels" / "test.tsv",
                folder / "corpus.jsonl",
                folder / "queries.jsonl",
                min_positive_grade=config.min_positive_grade,
                query_ids=train_q,
            )
            train_cross_encoder(data, model, config, overwrite=True)
        train_info.append(json.loads((model / "training.json").read_text()))
        for precision in VARIANTS:
            rf = _ce(model, precision)
            for name in (f"cross-encoder ({precision})", f"cascade bi>cross top 20 ({precision})"):
                runs.setdefault(name, {})
            for qid in sorted(test_q):
                ids = [d for d, _ in bm25[qid]]
                ce = rf.score(dataset.queries[qid], [texts[d] for d in ids])
                runs[f"cross-encoder ({precision})"][qid] = list(
                    zip(_ranked(ids, list(ce)), range(len(ids), 0, -1), strict=True)
                )
                if precision == "fp32":
                    bis = bi.score(dataset.queries[qid], [texts[d] for d in ids])
                    runs["bi-encoder"][qid] = list(
                        zip(_ranked(ids, list(bis)), range(len(ids), 0, -1), strict=True)
                    )
                    runs["BM25 run"][qid] = bm25[qid]
                    runs.setdefault("_bi", {})[qid] = bis
                bis = runs["_bi"][qid]
                top = np.argsort(-np.asarray(bis), kind="stable")[:20]
                final = cascade_scores(np.asarray(bis), top, np.asarray(ce)[top], 0.7)
                runs[f"cascade bi>cross top 20 ({precision})"][qid] = list(
                    zip(_ranked(ids, list(final)), range(len(ids), 0, -1), strict=True)
                )
    runs.pop("_bi")
    results = {
        name: evaluate_ranking(dataset.qrels, run, ["ndcg@10"], relevance_level=2).mean["ndcg@10"]
        for name, run in runs.items()
    }
    payload = {
        "machine": machine(),
        "ndcg@10": results,
        "folds": [sorted(f) for f in folds],
        "training": [
            {k: t[k] for k in ("seconds", "peak_rss_mb", "steps", "threads")}
            | {"train_queries": t["data"]["train_queries"], "groups": t["data"]["groups_per_epoch"]}
            for t in train_info
        ],
        "config": config.to_dict(),
        "peak_rss_mb_this_process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }
    save_json("train-dl20", payload)
    rows = "\n".join(f"| {name} | {value:.4f} |" for name, value in results.items())
    tr = payload["training"]
    write_section(
        "train-dl20",
        f"""### Trained cross-encoder on TREC DL 2020, 2-fold cross-validation (`bench/train_recipe.py dl20`)

Machine: {machine()}; 2 threads. The 54 queries are split into two seeded halves; a
cross-encoder (all-MiniLM-L6-v2 encoder + fresh head, listwise loss, max length
{config.max_length}, {config.epochs} epochs, positives of grade >= {config.min_positive_grade},
hard negatives from BM25 over the passage pool plus judged non-relevant passages) trained
on one half's judgments reranks the other half's BM25 top 100. Training per fold:
{tr[0]["seconds"] / 60:.1f} and {tr[1]["seconds"] / 60:.1f} min, peak RSS {max(t["peak_rss_mb"] for t in tr)} MB.

NDCG@10 over all 54 queries (each scored by the model that did not see it):

| ranking of the BM25 top 100 | NDCG@10 |
|---|---:|
{rows}
""",
    )
    print(json.dumps(results, indent=1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("step", choices=["scifact-train", "scifact-eval", "dl20"])
    p.add_argument("--model", type=Path, default=None)
    p.add_argument(
        "--depth", type=int, default=30, help="SciFact: candidates the cross-encoder reranks"
    )
    p.add_argument("--config", default=None, help="JSON overrides of the training config")
    p.add_argument("--skip-training", action="store_true", help="dl20: reuse trained fold models")
    args = p.parse_args()
    {"scifact-train": train_scifact, "scifact-eval": eval_scifact, "dl20": dl20}[args.step](args)


if __name__ == "__main__":
    main()
