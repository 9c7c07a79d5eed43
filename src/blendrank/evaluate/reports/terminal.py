"""Plain-text tables for the terminal.

>>> print(format_table(["system", "ndcg@10"], [["bm25", "0.4796"]]))
system  ndcg@10
------  -------
bm25     0.4796
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from blendrank.text.display import display_width, fit

if TYPE_CHECKING:
    from blendrank.evaluate.runner import EvalResult
    from blendrank.evaluate.tuning import TuningResult


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the first column left-aligned, others right."""
    widths = [max(display_width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            fit(str(c), w, align="left" if i == 0 else "right")
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def metric_rows(result: EvalResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows: pipeline, every metric mean, total latency p50/p95 (ms)."""
    header = ["pipeline", *result.metrics, "p50 ms", "p95 ms"]
    rows = []
    for name, run in result.runs.items():
        total = run.latency.get("total")
        rows.append(
            [
                name,
                *(f"{run.metrics.mean[m]:.4f}" for m in result.metrics),
                f"{total.p50 * 1000:.1f}" if total else "-",
                f"{total.p95 * 1000:.1f}" if total else "-",
            ]
        )
    return header, rows


def comparison_rows(result: EvalResult) -> tuple[list[str], list[list[str]]]:
    header = [
        "pipeline",
        "delta",
        "wins/losses/ties",
        "p (t-test, Holm)",
        "p (perm., Holm)",
        "sig.",
    ]
    rows = [
        [
            c.system,
            f"{c.delta:+.4f}",
            f"{c.wins}/{c.losses}/{c.ties}",
            f"{c.p_ttest_holm:.4f}",
            f"{c.p_permutation_holm:.4f}",
            "yes" if c.significant else "no",
        ]
        for c in result.comparisons
    ]
    return header, rows


def render_table(result: EvalResult) -> str:
    """The summary printed by ``blendrank eval``."""
    parts = [
        f"{result.dataset} ({result.split}), {len(result.queries)} queries, "
        f"binary relevance = grade >= {result.config.relevance_level}",
        "",
        format_table(*metric_rows(result)),
    ]
    if result.comparisons:
        metric = result.config.significance_metric
        parts += [
            "",
            f"{metric} vs baseline {result.config.baseline_name!r} "
            f"(alpha {result.config.significance_level}, Holm-corrected):",
            format_table(*comparison_rows(result)),
        ]
    parts += [f"note: {n}" for n in result.notes]
    return "\n".join(parts)


def render_trials(result: TuningResult) -> str:
    """Every grid point with its score on the tuning split; the best marked."""
    cfg = result.config
    names = list(cfg.grid)
    rows = [
        [
            *(str(t.params[n]) for n in names),
            f"{t.score:.4f}",
            "<- best" if t.params == result.best_params else "",
        ]
        for t in result.trials
    ]
    return "\n".join(
        [
            f"grid search on {cfg.tune_split!r} ({cfg.metric}); "
            f"reported below on {cfg.report_split!r}",
            format_table([*names, cfg.metric, ""], rows),
            "",
        ]
    )
