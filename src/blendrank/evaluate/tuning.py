"""Grid search: choose parameters on one split, report them on another.

Tuning and reporting on the same split is refused (the figure would be optimistic).
Indexes are built once per distinct index setting (e.g. per ``chunk_size``) and shared
by every trial and by the final report; both splits use the same corpus.

>>> grid_points({"alpha": [0.3, 0.7], "rrf_k": [60]})
[{'alpha': 0.3, 'rrf_k': 60}, {'alpha': 0.7, 'rrf_k': 60}]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from blendrank.evaluate.config import EvalConfig, TuneConfig
from blendrank.evaluate.datasets import EvalDataset, load_beir
from blendrank.evaluate.resources import IndexCache, RerankerCache, index_plan
from blendrank.evaluate.runner import EvalResult, evaluate, run_pipeline


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in the grid's key order."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def trial_name(base: str, params: Mapping[str, Any]) -> str:
    """A readable name for one grid point.

    >>> trial_name("hybrid", {"alpha": 0.5, "rrf_k": 60})
    'hybrid[alpha=0.5,rrf_k=60]'
    """
    return f"{base}[{','.join(f'{k}={v}' for k, v in params.items())}]"


@dataclass(frozen=True)
class Trial:
    params: dict[str, Any]
    score: float
    mean: dict[str, float]


@dataclass(frozen=True)
class TuningResult:
    """Every trial on the tuning split, the best parameters, and the evaluation on the
    report split of the base pipeline (baseline) against the tuned one."""

    config: TuneConfig
    trials: list[Trial]
    best_params: dict[str, Any]
    report: EvalResult

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.config.metric,
            "tune_split": self.config.tune_split,
            "report_split": self.config.report_split,
            "trials": [{"params": t.params, "score": t.score, "mean": t.mean} for t in self.trials],
            "best_params": self.best_params,
        }


def tune(
    dataset_dir: str | Path,
    config: TuneConfig,
    *,
    queries: int | None = None,
    progress: bool = False,
    work_dir: str | Path | None = None,
    reranker_loader: Callable[..., Any] | None = None,
) -> TuningResult:
    """Run the grid on ``config.tune_split``; report the best on ``config.report_split``.
    ``queries`` limits each split to its first N queries (for quick looks)."""
    tune_set = _load(dataset_dir, config.tune_split, queries)
    report_set = _load(dataset_dir, config.report_split, queries)
    metrics = tuple(dict.fromkeys([*config.metrics, config.metric]))
    eval_config = EvalConfig(
        pipelines=(config.pipeline,),
        metrics=metrics,
        relevance_level=config.relevance_level,
        significance_metric=config.metric,
        work_dir=str(work_dir or config.work_dir),
    )
    indexes = IndexCache(work_dir or config.work_dir, progress=progress)
    rerankers = RerankerCache(reranker_loader)
    trials = []
    try:
        for params in grid_points(config.grid):
            pipeline = replace(
                config.pipeline.with_params(params), name=trial_name(config.pipeline.name, params)
            )
            run = run_pipeline(
                pipeline,
                tune_set,
                eval_config,
                indexes=indexes,
                rerankers=rerankers,
                index_settings=index_plan([pipeline]).get(pipeline.name),
                progress=progress,
            )
            trials.append(Trial(params, run.metrics.mean[config.metric], run.metrics.mean))
        best = max(trials, key=lambda t: t.score)  # first of equals: grid order
        tuned = replace(
            config.pipeline.with_params(best.params), name=f"{config.pipeline.name}-tuned"
        )
        report_config = replace(eval_config, pipelines=(config.pipeline, tuned))
        report = evaluate(
            report_set, report_config, indexes=indexes, rerankers=rerankers, progress=progress
        )
    finally:
        indexes.close()
    return TuningResult(config, trials, dict(best.params), report)


def _load(dataset_dir: str | Path, split: str, queries: int | None) -> EvalDataset:
    dataset = load_beir(dataset_dir, split)
    return dataset.limit(queries) if queries else dataset
