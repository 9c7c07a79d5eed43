"""A Markdown report a newcomer can read: what was measured, the results, whether the
differences are real, where time goes and where the rerankers went wrong."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from blendrank.evaluate.analysis import QueryAnalysis
    from blendrank.evaluate.runner import EvalResult

#: one-line explanation of each metric family
EXPLAIN = {
    "ndcg": "nDCG@k: graded quality of the top k, 1.0 = ideal order (higher grades first)",
    "mrr": "MRR@k: 1/rank of the first relevant document within the top k (0 if none)",
    "hit_rate": "Hit rate@k: share of queries with at least one relevant document in the top k",
    "recall": "Recall@k: share of a query's relevant documents found in the top k",
    "precision": "Precision@k: share of the top k that is relevant",
    "map": "MAP: mean average precision over the whole ranking (order of all relevant documents)",
}
#: settings shown per pipeline type (others are at their defaults or do not apply)
PIPELINE_FIELDS = {
    "index": (
        "mode",
        "embedder",
        "fusion",
        "rrf_k",
        "alpha",
        "weights",
        "bm25_k1",
        "bm25_b",
        "chunk_size",
        "chunk_overlap",
        "candidates",
        "reranker",
        "rerank_candidates",
        "top_k",
    ),
    "run": ("run", "top_k"),
    "rerank_run": ("run", "depth", "reranker", "top_k"),
}
NOT_FOR_BM25 = ("embedder", "fusion", "rrf_k", "alpha", "weights")


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; ``|`` in cells is escaped.

    >>> print(md_table(["a", "b"], [["1", "x|y"]]))
    | a | b |
    |---|---|
    | 1 | x\\|y |
    """
    esc = [[str(c).replace("|", "\\|") for c in r] for r in [header, *rows]]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in esc[1:])])


def _results(result: EvalResult) -> list[str]:
    metrics = list(result.metrics)
    best = {m: max(r.metrics.mean[m] for r in result.runs.values()) for m in metrics}
    rows = []
    for name, run in result.runs.items():
        cells = [name]
        for m in metrics:
            value = run.metrics.mean[m]
            cells.append(f"**{value:.4f}**" if abs(value - best[m]) < 1e-12 else f"{value:.4f}")
        total = run.latency.get("total")
        cells.append(f"{total.p50 * 1000:.1f}" if total else "–")
        rows.append(cells)
    return [
        "## Results",
        "",
        "Mean over all evaluated queries; the best value in each column is **bold**. "
        "Latency is the median wall-clock time of one query through the whole pipeline.",
        "",
        md_table(["pipeline", *metrics, "latency p50 (ms)"], rows),
    ]


def _significance(result: EvalResult) -> list[str]:
    if not result.comparisons:
        return []
    cfg = result.config
    rows = [
        [
            c.system,
            f"{c.system_mean:.4f}",
            f"{c.delta:+.4f}",
            f"{c.wins} / {c.losses} / {c.ties}",
            f"{c.p_ttest_holm:.4f}",
            f"{c.p_permutation_holm:.4f}",
            "yes" if c.significant else "no",
        ]
        for c in result.comparisons
    ]
    return [
        "## Are the differences real?",
        "",
        f"Each pipeline is compared with the baseline **{cfg.baseline_name}** on "
        f"{cfg.significance_metric}, query by query (the same queries for both). "
        "*wins / losses / ties* count the queries where the pipeline did better / worse / "
        "the same. Two paired tests give a p-value, the chance of a difference at least this "
        "large if both pipelines were in fact equally good: Student's paired t-test and a "
        f"randomisation test ({cfg.permutations:,} random sign flips, seed {cfg.seed}). Both are "
        "corrected for testing several pipelines at once (Holm-Bonferroni). *significant* means "
        f"the corrected randomisation p-value is below {cfg.significance_level}.",
        "",
        md_table(
            [
                "pipeline",
                cfg.significance_metric,
                "Δ vs baseline",
                "wins / losses / ties",
                "p (t-test)",
                "p (randomisation)",
                "significant",
            ],
            rows,
        ),
    ]


def _latency(result: EvalResult) -> list[str]:
    rows = []
    for name, run in result.runs.items():
        for stage, stats in run.latency.items():
            ms = stats.ms()
            rows.append([name, stage, f"{ms['p50']:.2f}", f"{ms['p95']:.2f}", f"{ms['p99']:.2f}"])
    if not rows:
        return []
    return [
        "## Where the time goes",
        "",
        "Milliseconds per query and stage (p50 = median, p95/p99 = the slowest 5% / 1% start "
        "here). *total* is the whole search call, measured around it.",
        "",
        md_table(["pipeline", "stage", "p50", "p95", "p99"], rows),
    ]


def _change(c) -> str:
    before = c.rank_before if c.rank_before is not None else "–"
    after = c.rank_after if c.rank_after is not None else "gone"
    grade = "unjudged" if c.grade is None else f"grade {c.grade}"
    return f"  - `{c.doc_id}` ({grade}) rank {before} → {after}: {c.text}"


def _query_block(q: QueryAnalysis, metric: str) -> list[str]:
    lines = [f"- **{q.query_id}** “{q.query}” ({metric} {q.delta:+.4f})"]
    if q.demoted_relevant:
        lines.append("  - relevant documents pushed down:")
        lines += ["  " + _change(c) for c in q.demoted_relevant]
    if q.promoted_nonrelevant:
        lines.append("  - non-relevant documents pulled up:")
        lines += ["  " + _change(c) for c in q.promoted_nonrelevant]
    return lines


def _errors(result: EvalResult) -> list[str]:
    if not result.error_analysis:
        return []
    metric = result.config.significance_metric
    lines = [
        "## Where the rerankers went wrong",
        "",
        f"For each reranking pipeline: its first stage vs the reranked list, and the queries "
        f"whose {metric} dropped most, with the relevant documents the reranker pushed out of "
        f"(or down within) the top {result.config.error_cutoff} and the non-relevant ones it "
        "pulled into it.",
    ]
    for name, queries in result.error_analysis.items():
        run = result.runs[name]
        before = run.first_stage_metrics.mean[metric] if run.first_stage_metrics else float("nan")
        lines += [
            "",
            f"### {name}",
            "",
            f"{metric}: first stage {before:.4f} → reranked {run.metrics.mean[metric]:.4f}.",
            "",
        ]
        if not queries:
            lines.append("The reranker made no query worse.")
        for q in queries:
            lines += _query_block(q, metric)
    return lines


def _setup(result: EvalResult) -> list[str]:
    rows = []
    for name, run in result.runs.items():
        cfg = run.config
        shown = [
            f
            for f in PIPELINE_FIELDS[cfg.type]
            if getattr(cfg, f) is not None and not (cfg.mode == "bm25" and f in NOT_FOR_BM25)
        ]
        rows.append([name, cfg.type, ", ".join(f"{f}={getattr(cfg, f)}" for f in shown)])
    return [
        "## Pipelines",
        "",
        "*index*: searches a blendrank index built from the corpus; *run*: a TREC run file "
        "scored as it is; *rerank_run*: a reranker reorders the candidates of a run file.",
        "",
        md_table(["pipeline", "type", "settings"], rows),
    ]


def render_markdown(result: EvalResult) -> str:
    metric = result.config.significance_metric
    best_name, best = max(
        ((n, r.metrics.mean[metric]) for n, r in result.runs.items()), key=lambda t: t[1]
    )
    families = sorted({m.split("@")[0] for m in result.metrics}, key=list(EXPLAIN).index)
    lines = [
        f"# Retrieval evaluation: {result.dataset} ({result.split} split)",
        "",
        f"{len(result.queries)} judged queries, {len(result.runs)} pipeline(s). "
        f"Best {metric}: **{best_name}** ({best:.4f}).",
        "",
        "## How to read this report",
        "",
        *(f"- {EXPLAIN[f]}." for f in families),
        f"- A document counts as relevant for the binary metrics (all but nDCG) when its "
        f"judged grade is at least {result.config.relevance_level}; nDCG uses the grades.",
        "- Every number is a mean over queries: a query with no relevant document retrieved "
        "scores 0.",
        "",
        *_results(result),
        "",
        *_significance(result),
        "",
        *_latency(result),
        "",
        *_errors(result),
        "",
        *_setup(result),
    ]
    if result.notes:
        lines += ["", "## Notes", "", *(f"- {n}" for n in result.notes)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).rstrip() + "\n"


def write_markdown(result: EvalResult, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(result), encoding="utf-8")
    return path
