"""A self-contained HTML report: tables plus plots embedded as inline SVG (no external
files, no scripts). Plots need matplotlib (``pip install 'blendrank[eval]'``); without
it the report says so where the plots would be.

Plots: quality vs latency (one point per pipeline: median total latency, mean of the
significance metric) and the per-query deltas of each pipeline against the baseline.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from blendrank.errors import MissingDependencyError
from blendrank.evaluate.reports.markdown import EXPLAIN
from blendrank.evaluate.reports.terminal import comparison_rows, metric_rows

if TYPE_CHECKING:
    from blendrank.evaluate.runner import EvalResult

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1f2328;line-height:1.45;padding:0 1rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #d0d7de;
padding:.3rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f6f8fa}.best{font-weight:700}.note{color:#59636e}figure{margin:1rem 0}
svg{max-width:100%;height:auto}code{background:#f6f8fa;padding:0 .2rem}
details{margin:.3rem 0}.doc{color:#59636e;font-size:.9em}
"""


def html_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], bold: set | None = None
) -> str:
    """Cells are escaped; ``bold`` holds (row, column) positions to emphasise.

    >>> html_table(["a"], [["<b>"]])
    '<table><tr><th>a</th></tr><tr><td>&lt;b&gt;</td></tr></table>'
    """
    bold = bold or set()
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="best">{html.escape(str(c))}</td>'
            if (i, j) in bold
            else f"<td>{html.escape(str(c))}</td>"
            for j, c in enumerate(row)
        )
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return re.sub(r"^.*?(<svg\b)", r"\1", text, count=1, flags=re.S)


def _figure(width: float, height: float):
    from blendrank._optional import require

    require("matplotlib", "eval", "plots in the HTML report")
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    return Figure(figsize=(width, height), dpi=100)


def quality_latency_svg(result: EvalResult) -> str:
    """Scatter: median total latency (ms, log scale) vs mean metric, one point per pipeline."""
    metric = result.config.significance_metric
    points = [
        (name, run.latency["total"].p50 * 1000, run.metrics.mean[metric])
        for name, run in result.runs.items()
        if "total" in run.latency
    ]
    fig = _figure(7, 4.2)
    ax = fig.add_subplot()
    if points:
        xs = [max(p[1], 1e-3) for p in points]
        ax.scatter(xs, [p[2] for p in points], s=60, color="#0969da", zorder=3)
        for (name, _, y), x in zip(points, xs, strict=True):
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=9)
        ax.set_xscale("log")
    else:
        ax.text(0.5, 0.5, "no pipeline with measured latency", ha="center", transform=ax.transAxes)
    ax.set_xlabel("median latency per query (ms, log scale)")
    ax.set_ylabel(f"mean {metric}")
    ax.set_title(f"Quality vs latency ({result.dataset}, {result.split})")
    ax.grid(True, alpha=0.3)
    return _svg(fig)


def deltas_svg(result: EvalResult) -> str:
    """Per comparison, the per-query deltas (pipeline - baseline) sorted, as bars."""
    comparisons = result.comparisons
    fig = _figure(7, 2.4 * max(1, len(comparisons)))
    for i, c in enumerate(comparisons, start=1):
        ax = fig.add_subplot(len(comparisons), 1, i)
        values = sorted(c.deltas.values())
        colors = ["#1a7f37" if v > 0 else "#cf222e" if v < 0 else "#8c959f" for v in values]
        ax.bar(range(len(values)), values, width=1.0, color=colors)
        ax.axhline(0, color="#1f2328", linewidth=0.8)
        ax.set_ylabel(f"Δ {c.metric}")
        ax.set_title(
            f"{c.system} vs {c.baseline}: {c.wins} better, {c.losses} worse, {c.ties} same",
            fontsize=10,
        )
        ax.set_xticks([])
    if comparisons:
        fig.axes[-1].set_xlabel("queries, sorted by delta")
    fig.tight_layout()
    return _svg(fig)


def _plots(result: EvalResult) -> str:
    try:
        parts = ["<h2>Quality vs latency</h2>", f"<figure>{quality_latency_svg(result)}</figure>"]
        if result.comparisons:
            parts += [
                "<h2>Per-query differences</h2>",
                '<p class="note">Each bar is one query: green = better than the baseline, red = '
                "worse, grey = the same.</p>",
                f"<figure>{deltas_svg(result)}</figure>",
            ]
        return "\n".join(parts)
    except MissingDependencyError as exc:
        return f'<p class="note">Plots skipped: {html.escape(str(exc))}</p>'


def _errors(result: EvalResult) -> str:
    metric = result.config.significance_metric
    parts = []
    for name, queries in result.error_analysis.items():
        parts.append(f"<h3>{html.escape(name)}</h3>")
        if not queries:
            parts.append("<p>The reranker made no query worse.</p>")
        for q in queries:
            items = []
            for label, changes in (
                ("relevant pushed down", q.demoted_relevant),
                ("non-relevant pulled up", q.promoted_nonrelevant),
            ):
                for c in changes:
                    before = c.rank_before if c.rank_before is not None else "–"
                    after = c.rank_after if c.rank_after is not None else "gone"
                    items.append(
                        f"<li>{label}: <code>{html.escape(c.doc_id)}</code> (grade {c.grade}) "
                        f"rank {before} → {after} "
                        f'<span class="doc">{html.escape(c.text)}</span></li>'
                    )
            parts.append(
                f"<details><summary><b>{html.escape(q.query_id)}</b> {html.escape(q.query)} "
                f"({metric} {q.delta:+.4f})</summary><ul>{''.join(items)}</ul></details>"
            )
    if not parts:
        return ""
    return "<h2>Where the rerankers went wrong</h2>" + "".join(parts)


def _latency(result: EvalResult) -> str:
    rows = [
        [name, stage, *(f"{v:.2f}" for v in (s.p50 * 1e3, s.p95 * 1e3, s.p99 * 1e3))]
        for name, run in result.runs.items()
        for stage, s in run.latency.items()
    ]
    if not rows:
        return ""
    return "<h2>Latency per stage (ms)</h2>" + html_table(
        ["pipeline", "stage", "p50", "p95", "p99"], rows
    )


def render_html(result: EvalResult) -> str:
    header, rows = metric_rows(result)
    best = set()
    for j in range(1, 1 + len(result.metrics)):
        top = max(float(r[j]) for r in rows)
        best |= {(i, j) for i, r in enumerate(rows) if float(r[j]) == top}
    cfg = result.config
    families = sorted({m.split("@")[0] for m in result.metrics}, key=list(EXPLAIN).index)
    explain = "".join(f"<li>{html.escape(EXPLAIN[f])}.</li>" for f in families)
    significance = ""
    if result.comparisons:
        significance = (
            f"<h2>Are the differences real?</h2><p>{html.escape(cfg.significance_metric)} vs "
            f"baseline <b>{html.escape(cfg.baseline_name)}</b>: paired t-test and randomisation "
            f"test ({cfg.permutations:,} sign flips, seed {cfg.seed}), Holm-corrected; "
            f"significant = corrected randomisation p &lt; {cfg.significance_level}.</p>"
            + html_table(*comparison_rows(result))
        )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>blendrank evaluation: {html.escape(result.dataset)}</title><style>{STYLE}</style></head>
<body>
<h1>Retrieval evaluation: {html.escape(result.dataset)} ({html.escape(result.split)})</h1>
<p>{len(result.queries)} judged queries, {len(result.runs)} pipeline(s). Binary metrics count
grade &ge; {cfg.relevance_level} as relevant.</p>
<ul class="note">{explain}</ul>
<h2>Results</h2>
{html_table(header, rows, best)}
{significance}
{_plots(result)}
{_latency(result)}
{_errors(result)}
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
</body></html>
"""


def write_html(result: EvalResult, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
    return path
