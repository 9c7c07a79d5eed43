"""``blendrank eval``: evaluate pipelines on a BEIR-layout collection, or tune one.

    blendrank eval DATASET --config pipelines.yaml --report out/ [--split test]
                   [--metrics ndcg@10 recall@100] [--queries N] [--relevance-level 2]
    blendrank eval DATASET --tune tune.yaml --report out/ [--queries N]

``--report`` writes report.md, report.json, report.html and runs/<pipeline>.trec; the
summary table is printed either way. ``--tune`` runs a grid on the config's tune_split
and reports the best setting on its report_split (plus tuning.json with every trial).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate retrieval pipelines (metrics, latency, significance, reports)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "dataset", help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv"
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--config", help="pipelines config (YAML or TOML)")
    what.add_argument("--tune", metavar="GRID", help="tuning config (YAML or TOML)")
    parser.add_argument(
        "--report", metavar="DIR", help="write Markdown, JSON, HTML and TREC runs here"
    )
    parser.add_argument("--split", default="test", help="qrels split to evaluate (default: test)")
    parser.add_argument("--metrics", nargs="+", help="metrics, e.g. ndcg@10 recall@100 mrr@10")
    parser.add_argument("--queries", type=int, metavar="N", help="only the first N queries")
    parser.add_argument("--relevance-level", type=int, help="min grade for binary metrics")
    parser.add_argument("--work-dir", help="where built indexes are cached")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--json", action="store_true", help="print the results (report.json's content) as JSON"
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from blendrank.evaluate.reports import render_table, result_to_dict, write_reports

    progress = not args.no_progress and sys.stderr.isatty()
    if args.tune:
        result, extra = _tune(args, progress, quiet=args.json)
    else:
        result, extra = _evaluate(args, progress), None
    if args.json:
        payload = result_to_dict(result)
        if extra is not None:
            payload["tuning"] = extra.to_dict()
    else:
        print(render_table(result))
    if args.report:
        paths = write_reports(result, args.report)
        if extra is not None:
            path = Path(args.report) / "tuning.json"
            path.write_text(json.dumps(extra.to_dict(), indent=2, default=str), encoding="utf-8")
            paths["tuning"] = path
        if args.json:
            payload["reports"] = {k: str(p) for k, p in paths.items()}
        else:
            print(
                f"\nreports written to {args.report}: "
                + ", ".join(p.name for k, p in paths.items() if not k.startswith("run:"))
                + f", runs/ ({sum(k.startswith('run:') for k in paths)} TREC run files)"
            )
    if args.json:
        print(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    return 0


def _evaluate(args: argparse.Namespace, progress: bool):
    from blendrank.evaluate import (
        MissingJudgedDocumentsWarning,
        evaluate,
        load_beir,
        load_eval_config,
    )

    config = load_eval_config(args.config).with_overrides(
        metrics=args.metrics, relevance_level=args.relevance_level, work_dir=args.work_dir
    )
    with warnings.catch_warnings():  # reported as a note under the table instead
        warnings.simplefilter("ignore", MissingJudgedDocumentsWarning)
        dataset = load_beir(args.dataset, args.split)
    if args.queries:
        dataset = dataset.limit(args.queries)
    return evaluate(dataset, config, progress=progress)


def _tune(args: argparse.Namespace, progress: bool, *, quiet: bool = False):
    from dataclasses import replace

    from blendrank.evaluate import MissingJudgedDocumentsWarning, load_tune_config, tune
    from blendrank.evaluate.metrics import validate_metrics
    from blendrank.evaluate.reports.terminal import render_trials

    config = load_tune_config(args.tune)
    changes: dict[str, Any] = {}
    if args.metrics:
        changes["metrics"] = tuple(validate_metrics(args.metrics))
    if args.relevance_level:
        changes["relevance_level"] = args.relevance_level
    config = replace(config, **changes)
    with warnings.catch_warnings():  # reported as a note under the table instead
        warnings.simplefilter("ignore", MissingJudgedDocumentsWarning)
        result = tune(
            args.dataset, config, queries=args.queries, progress=progress, work_dir=args.work_dir
        )
    if not quiet:
        print(render_trials(result))
    return result.report, result
