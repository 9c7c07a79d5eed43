"""Evaluation harness: datasets, ranx metrics, pipelines from a config, latency,
significance tests, error analysis, tuning and reports.

Example::

    from blendrank.evaluate import evaluate, load_beir, load_eval_config
    from blendrank.evaluate.reports import render_table, write_reports

    result = evaluate(load_beir("../shared/data/scifact"), load_eval_config("pipelines.yaml"))
    print(render_table(result))
    write_reports(result, "out/")

Command line: ``blendrank eval DATASET --config pipelines.yaml --report out/``.
"""

from __future__ import annotations

from blendrank.evaluate.analysis import QueryAnalysis, RankChange, analyse_reranker, rank_changes
from blendrank.evaluate.config import (
    EvalConfig,
    PipelineConfig,
    TuneConfig,
    load_eval_config,
    load_tune_config,
)
from blendrank.evaluate.datasets import (
    DatasetError,
    EvalDataset,
    MissingJudgedDocumentsWarning,
    Run,
    load_beir,
    load_rerank_set,
    read_corpus,
    read_qrels,
    read_queries,
    read_run,
)
from blendrank.evaluate.latency import LatencyStats, stage_latencies, summarize
from blendrank.evaluate.metrics import (
    DEFAULT_METRICS,
    MetricResult,
    evaluate_ranking,
    validate_metrics,
)
from blendrank.evaluate.runner import EvalResult, PipelineRun, evaluate, run_pipeline
from blendrank.evaluate.significance import (
    Comparison,
    compare_to_baseline,
    holm_bonferroni,
    paired_t_test,
    permutation_test,
)
from blendrank.evaluate.tuning import TuningResult, grid_points, tune

__all__ = [
    "DEFAULT_METRICS",
    "Comparison",
    "DatasetError",
    "EvalConfig",
    "EvalDataset",
    "EvalResult",
    "LatencyStats",
    "MetricResult",
    "MissingJudgedDocumentsWarning",
    "PipelineConfig",
    "PipelineRun",
    "QueryAnalysis",
    "RankChange",
    "Run",
    "TuneConfig",
    "TuningResult",
    "analyse_reranker",
    "compare_to_baseline",
    "evaluate",
    "evaluate_ranking",
    "grid_points",
    "holm_bonferroni",
    "load_beir",
    "load_eval_config",
    "load_rerank_set",
    "load_tune_config",
    "paired_t_test",
    "permutation_test",
    "rank_changes",
    "read_corpus",
    "read_qrels",
    "read_queries",
    "read_run",
    "run_pipeline",
    "stage_latencies",
    "summarize",
    "tune",
    "validate_metrics",
]
