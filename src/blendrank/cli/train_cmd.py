"""``blendrank train``: fine-tune a cross-encoder on your judgments.

    blendrank train --beir data/scifact --split train --out models/scifact-ce
    blendrank train --jsonl pairs.jsonl --out models/my-ce --retriever bm25
    blendrank train --qrels dl20.qrels --corpus corpus.jsonl --queries queries.jsonl --out m

Options left out take the defaults of ``TrainConfig`` (``--config FILE`` reads a YAML or
TOML mapping of the same names; flags win over the file).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from blendrank.errors import InvalidInputError

#: flag -> (TrainConfig field, type, help)
OPTIONS: dict[str, tuple[str, type, str]] = {
    "--base": ("base", str, "encoder or cross-encoder folder / hub id (default all-MiniLM-L6-v2)"),
    "--loss": ("loss", str, "listwise (default) or pointwise"),
    "--epochs": ("epochs", int, "passes over the training queries (default 2)"),
    "--batch-groups": ("batch_groups", int, "groups (1 positive + negatives) per step"),
    "--hard-negatives": ("hard_negatives", int, "mined negatives per group (default 6)"),
    "--random-negatives": ("random_negatives", int, "random negatives per group (default 1)"),
    "--max-length": ("max_length", int, "tokens per pair while training (default 256)"),
    "--learning-rate": ("learning_rate", float, "AdamW learning rate (default 3e-5)"),
    "--head-learning-rate": (
        "head_learning_rate",
        float,
        "learning rate of the pooler and classifier (default: --learning-rate)",
    ),
    "--precision": ("precision", str, "fp32 (default) or bf16 autocast (~2x on AVX-512 BF16)"),
    "--seed": ("seed", int, "random seed (default 0)"),
    "--threads": ("threads", int, "torch CPU threads"),
    "--device": ("device", str, "cpu or cuda (default: cuda when available)"),
    "--retriever": ("retriever", str, "first stage mining negatives: hybrid, bm25, dense, none"),
    "--mining-depth": ("mining_depth", int, "first-stage ranks mined per query (default 50)"),
    "--skip-top": ("skip_top", int, "skip this many top ranks when mining (false negatives)"),
    "--duplicate-threshold": ("duplicate_threshold", float, "drop near-duplicates of positives"),
    "--min-positive-grade": ("min_positive_grade", int, "lowest qrels grade that is positive"),
    "--max-positives-per-query": (
        "max_positives_per_query",
        int,
        "sample at most N positives of a query per epoch",
    ),
    "--val-fraction": ("val_fraction", float, "queries held out for validation (default 0.1)"),
    "--val-depth": ("val_depth", int, "first-stage candidates reranked in validation"),
    "--eval-every": ("eval_every", int, "validate every N steps (default: each epoch)"),
    "--patience": ("patience", int, "evaluations without improvement before stopping"),
    "--teacher": ("teacher", str, "reranker spec to distil from, e.g. bi:all-MiniLM-L6-v2"),
    "--distill-weight": ("distill_weight", float, "weight of the distillation loss"),
    "--teacher-temperature": ("teacher_temperature", float, "teacher score temperature"),
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="fine-tune a cross-encoder with mined hard negatives (needs the torch extra)",
        description="Fine-tune a cross-encoder on judged queries; negatives are mined with "
        "blendrank's first stage. The output folder loads in blendrank and in "
        "sentence-transformers' CrossEncoder.",
    )
    src = p.add_argument_group("training data (one of)")
    src.add_argument("--beir", type=Path, help="a BEIR folder (corpus, queries, qrels/)")
    src.add_argument("--split", default="train", help="qrels split of --beir (default train)")
    src.add_argument("--jsonl", type=Path, help="JSONL of {query, positive(s), negatives}")
    src.add_argument("--qrels", type=Path, help="TREC or BEIR qrels (with --corpus, --queries)")
    src.add_argument("--corpus", type=Path, help="corpus.jsonl for --qrels")
    src.add_argument("--queries", type=Path, help="queries.jsonl for --qrels")
    p.add_argument("--out", type=Path, required=True, help="output model folder")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--index", type=Path, help="an existing index over the corpus to mine with")
    p.add_argument("--config", type=Path, help="YAML/TOML file of training options")
    for flag, (_, kind, text) in OPTIONS.items():
        p.add_argument(flag, type=kind, default=None, help=text)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _config_file(path: Path) -> dict[str, Any]:
    from blendrank.evaluate.config import read_config_file

    values = read_config_file(path)
    if not isinstance(values, dict):
        raise InvalidInputError(f"{path}: expected a mapping of training options")
    return values


def _data(args: argparse.Namespace, min_grade: int):
    from blendrank.train import load_beir_training, load_jsonl_training, load_trec_training

    given = [name for name in ("beir", "jsonl", "qrels") if getattr(args, name)]
    if len(given) != 1:
        raise InvalidInputError("give exactly one of --beir, --jsonl or --qrels")
    if args.beir:
        return load_beir_training(args.beir, args.split, min_positive_grade=min_grade)
    if args.jsonl:
        return load_jsonl_training(args.jsonl)
    if not (args.corpus and args.queries):
        raise InvalidInputError("--qrels needs --corpus and --queries")
    return load_trec_training(args.qrels, args.corpus, args.queries, min_positive_grade=min_grade)


def run(args: argparse.Namespace) -> int:
    from blendrank.train import TrainConfig, train_cross_encoder

    values = _config_file(args.config) if args.config else {}
    for flag, (name, _, _) in OPTIONS.items():
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            values[name] = value
    config = TrainConfig.from_dict(values)
    data = _data(args, config.min_positive_grade)
    result = train_cross_encoder(
        data,
        args.out,
        config,
        index=args.index,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    summary = {
        "output": str(result.output),
        "steps": result.steps,
        "best_step": result.best_step,
        "best_val_ndcg@10": result.best_metric,
        "minutes": round(result.seconds / 60, 2),
        "peak_rss_mb": result.history["peak_rss_mb"],
    }
    print(json.dumps(summary))
    return 0
