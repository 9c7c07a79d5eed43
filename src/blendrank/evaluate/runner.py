"""Run pipelines over a dataset's queries, score them, compare them.

Indexes are built once per distinct index setting (embedder, analyzer, chunking, BM25
parameters) and cached under ``work_dir``; every pipeline that shares the settings
searches the same index. A BM25-only pipeline reuses a dense index with the same
chunking when the run has one, so BM25 does not force a second build.

Example::

    from blendrank.evaluate import evaluate, load_beir, load_eval_config

    result = evaluate(load_beir("../shared/data/scifact"), load_eval_config("pipelines.yaml"))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.evaluate.analysis import QueryAnalysis, analyse_reranker
from blendrank.evaluate.config import EvalConfig, PipelineConfig
from blendrank.evaluate.datasets import (
    EvalDataset,
    Run,
    check_candidates,
    check_run,
    read_run,
    resolve_path,
)
from blendrank.evaluate.latency import LatencyStats, stage_latencies
from blendrank.evaluate.metrics import MetricResult, evaluate_ranking
from blendrank.evaluate.resources import IndexCache, RerankerCache, index_plan
from blendrank.evaluate.significance import Comparison, compare_to_baseline
from blendrank.types import Hit, Query


@dataclass(frozen=True)
class PipelineRun:
    """One pipeline's output: its ranking, metrics, latency per stage and, for a
    reranking pipeline, the first-stage ranking it started from."""

    config: PipelineConfig
    ranking: Run
    metrics: MetricResult
    latency: dict[str, LatencyStats]
    first_stage: Run | None = None
    first_stage_metrics: MetricResult | None = None
    index_path: str | None = None

    @property
    def name(self) -> str:
        return self.config.name


@dataclass(frozen=True)
class EvalResult:
    """Everything a report needs."""

    dataset: str
    split: str
    config: EvalConfig
    runs: dict[str, PipelineRun]
    comparisons: list[Comparison]
    error_analysis: dict[str, list[QueryAnalysis]]
    queries: dict[str, str]
    notes: list[str] = field(default_factory=list)
    index_builds: dict[str, float] = field(default_factory=dict)

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.config.metrics


def _progress(items: list, desc: str, enabled: bool):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="q", leave=False)


def search_index(
    pipeline: PipelineConfig,
    index: Any,
    queries: Mapping[str, str],
    reranker: Any,
    *,
    progress: bool,
) -> tuple[Run, Run | None, list[dict[str, float]], list[float]]:
    """Run every query through the index's pipeline once; returns (ranking, first-stage
    ranking or None, timings, totals). The first stage is the reranker's input of the
    same run, not a second search."""
    search = index.pipeline(
        reranker,
        mode=pipeline.mode,
        fusion=pipeline.fusion,
        rrf_k=pipeline.rrf_k,
        weights=pipeline.search_weights(),
        retrievers=pipeline.retrievers,
        self_query=pipeline.self_query,
        normalization=pipeline.normalization,
        per="document",
        candidates=pipeline.candidates,
        rerank_candidates=pipeline.rerank_candidates,
    )
    ranking: Run = {}
    first: Run = {}
    timings: list[dict[str, float]] = []
    totals: list[float] = []
    if queries:  # warm-up, untimed: lazy loads (index files, model sessions) are not latency
        search.run(next(iter(queries.values())), pipeline.top_k)
    for qid, text in _progress(list(queries.items()), pipeline.name, progress):
        start = time.perf_counter()
        result = search.run(Query(text, id=qid), pipeline.top_k)
        totals.append(time.perf_counter() - start)
        timings.append(result.timings)
        ranking[qid] = [(h.doc_id, h.score) for h in result.final]
        if reranker is not None:
            first[qid] = [(h.doc_id, h.score) for h in result.first_stage]
    return ranking, (first if reranker is not None else None), timings, totals


def rerank_candidates(
    pipeline: PipelineConfig,
    dataset: EvalDataset,
    candidates: Run,
    reranker: Any,
    *,
    progress: bool,
) -> tuple[Run, list[dict[str, float]], list[float]]:
    """Rerank each query's run candidates (top ``depth``); time the reranker."""
    ranking: Run = {}
    timings: list[dict[str, float]] = []
    totals: list[float] = []
    if dataset.queries:  # warm-up, untimed (model session start-up is not latency)
        warm = Hit(id="warm-up", doc_id="warm-up", score=0.0, text="warm-up")
        reranker.rerank(next(iter(dataset.queries.values())), [warm])
    for qid, text in _progress(list(dataset.queries.items()), pipeline.name, progress):
        docs = candidates.get(qid, [])
        hits = []
        for rank, (doc_id, score) in enumerate(docs, start=1):
            doc = dataset.corpus[doc_id]
            body = f"{doc.title}\n{doc.text}" if doc.title else doc.text
            hits.append(
                Hit(
                    id=doc_id,
                    doc_id=doc_id,
                    score=score,
                    text=body,
                    title=doc.title,
                    chunk_id=doc_id,
                    scores={"first": score},
                    ranks={"first": rank},
                )
            )
        start = time.perf_counter()
        reranked = reranker.rerank(text, hits) if hits else []
        seconds = time.perf_counter() - start
        timings.append({"rerank": seconds})
        totals.append(seconds)
        ranking[qid] = [(h.doc_id, h.score) for h in reranked][: pipeline.top_k]
    return ranking, timings, totals


def run_pipeline(
    pipeline: PipelineConfig,
    dataset: EvalDataset,
    config: EvalConfig,
    *,
    indexes: IndexCache,
    rerankers: RerankerCache,
    index_settings: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> PipelineRun:
    """Run one pipeline over ``dataset.queries`` and score it."""
    reranker = (
        rerankers.get(pipeline.reranker, pipeline.reranker_params) if pipeline.reranker else None
    )
    if reranker is not None and pipeline.rerank_blend is not None:
        from blendrank.rerank import BlendReranker

        reranker = BlendReranker(reranker, pipeline.rerank_blend)
    first: Run | None = None
    index_path = None
    if pipeline.type == "index":
        settings = index_settings or pipeline.index_settings()
        index = indexes.get(dataset, settings)
        index_path = settings.get("store") or str(indexes.path_for(dataset, settings))
        ranking, first, timings, totals = search_index(
            pipeline, index, dataset.queries, reranker, progress=progress
        )
    else:
        run_path = resolve_path(pipeline.run or "", dataset.path)
        source = read_run(run_path)
        check_run(source, dataset.queries, what=str(run_path))
        depth = pipeline.depth or None
        source = {q: source[q][:depth] for q in dataset.queries if q in source}
        if pipeline.type == "run":
            ranking = {q: docs[: pipeline.top_k] for q, docs in source.items()}
            timings, totals = [], []
        else:
            check_candidates(source, dataset.corpus, str(run_path))
            ranking, timings, totals = rerank_candidates(
                pipeline, dataset, source, reranker, progress=progress
            )
            first = source
    score = lambda r: evaluate_ranking(  # noqa: E731
        dataset.qrels, r, config.metrics, relevance_level=config.relevance_level
    )
    if not any(ranking.values()):
        raise InvalidInputError(f"pipeline {pipeline.name!r} returned no results for any query")
    return PipelineRun(
        config=pipeline,
        ranking=ranking,
        metrics=score(ranking),
        latency=stage_latencies(timings, totals) if timings else {},
        first_stage=first,
        first_stage_metrics=score(first) if first is not None else None,
        index_path=index_path,
    )


def evaluate(
    dataset: EvalDataset,
    config: EvalConfig,
    *,
    work_dir: str | Path | None = None,
    progress: bool = False,
    reranker_loader: Callable[..., Any] | None = None,
    indexes: IndexCache | None = None,
    rerankers: RerankerCache | None = None,
) -> EvalResult:
    """Evaluate every pipeline of ``config`` on ``dataset``, compare them with the
    baseline (paired t-test and randomisation test, Holm-corrected) and analyse each
    reranker's errors against its first stage. ``indexes``/``rerankers`` let several
    evaluations (e.g. tuning trials) share built indexes and loaded models."""
    metric = config.significance_metric
    if metric not in config.metrics:  # the tests need its per-query values
        config = config.with_overrides(metrics=[*config.metrics, metric])
    owned = indexes is None
    indexes = indexes or IndexCache(work_dir or config.work_dir, progress=progress)
    rerankers = rerankers or RerankerCache(reranker_loader)
    plan = index_plan(list(config.pipelines))
    runs: dict[str, PipelineRun] = {}
    try:
        for pipeline in config.pipelines:
            runs[pipeline.name] = run_pipeline(
                pipeline,
                dataset,
                config,
                indexes=indexes,
                rerankers=rerankers,
                index_settings=plan.get(pipeline.name),
                progress=progress,
            )
    finally:
        if owned:
            indexes.close()
    comparisons = (
        compare_to_baseline(
            {n: r.metrics.per_query[metric] for n, r in runs.items()},
            config.baseline_name,
            metric,
            permutations=config.permutations,
            seed=config.seed,
            alpha=config.significance_level,
        )
        if len(runs) > 1 and len(dataset.queries) > 1
        else []
    )
    analysis = {
        name: analyse_reranker(
            run.first_stage,
            run.ranking,
            dataset.qrels,
            dataset.queries,
            dataset.corpus,
            reranker_deltas(run, metric),
            relevance_level=config.relevance_level,
            cutoff=config.error_cutoff,
            max_queries=config.error_queries,
            max_chars=config.text_chars,
        )
        for name, run in runs.items()
        if run.first_stage is not None and run.first_stage_metrics is not None
    }
    notes = list(dataset.notes)
    if dataset.missing_judged_docs:
        notes.append(
            f"{dataset.missing_judged_docs} judged documents are not in the corpus; they count "
            "as relevant but cannot be retrieved (normal for a re-ranking set)"
        )
    return EvalResult(
        dataset=dataset.name,
        split=dataset.split,
        config=config,
        runs=runs,
        comparisons=comparisons,
        error_analysis=analysis,
        queries=dict(dataset.queries),
        notes=notes,
        index_builds=dict(indexes.build_seconds),
    )


def reranker_deltas(run: PipelineRun, metric: str) -> dict[str, float]:
    """Per-query ``metric`` change, reranked minus first stage."""
    if run.first_stage_metrics is None:
        return {}
    after = run.metrics.per_query[metric]
    before = run.first_stage_metrics.per_query[metric]
    return {q: after[q] - before[q] for q in after}
