"""The whole evaluation as JSON: config, means, per-query values, latency, tests, errors.

Example: ``result_to_dict(result)["pipelines"]["bm25"]["mean"]["ndcg@10"]``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blendrank.evaluate.runner import EvalResult


def result_to_dict(result: EvalResult) -> dict[str, Any]:
    """A JSON-ready dict (plain types only)."""
    pipelines = {}
    for name, run in result.runs.items():
        entry: dict[str, Any] = {
            "config": asdict(run.config),
            "mean": run.metrics.mean,
            "per_query": run.metrics.per_query,
            "latency_seconds": {s: v.to_dict() for s, v in run.latency.items()},
            "index_path": run.index_path,
        }
        if run.first_stage_metrics is not None:
            entry["first_stage_mean"] = run.first_stage_metrics.mean
        pipelines[name] = entry
    return {
        "dataset": result.dataset,
        "split": result.split,
        "queries": len(result.queries),
        "metrics": list(result.metrics),
        "relevance_level": result.config.relevance_level,
        "baseline": result.config.baseline_name,
        "significance": {
            "metric": result.config.significance_metric,
            "alpha": result.config.significance_level,
            "permutations": result.config.permutations,
            "seed": result.config.seed,
            "correction": "holm-bonferroni",
            "comparisons": [c.to_dict() for c in result.comparisons],
        },
        "pipelines": pipelines,
        "error_analysis": {
            name: [q.to_dict() for q in queries] for name, queries in result.error_analysis.items()
        },
        "index_builds_seconds": result.index_builds,
        "notes": list(result.notes),
    }


def write_json(result: EvalResult, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result_to_dict(result), indent=2, sort_keys=False), encoding="utf-8")
    return path
