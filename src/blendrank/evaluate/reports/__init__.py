"""Report writers: terminal table, Markdown, JSON, TREC run files, self-contained HTML.

Example: ``write_reports(result, "out/")`` writes report.md, report.json, report.html
and runs/<pipeline>.trec.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from blendrank.evaluate.reports.html import write_html
from blendrank.evaluate.reports.json import result_to_dict, write_json
from blendrank.evaluate.reports.markdown import render_markdown, write_markdown
from blendrank.evaluate.reports.terminal import render_table
from blendrank.evaluate.reports.trec import write_trec_run, write_trec_runs

if TYPE_CHECKING:
    from blendrank.evaluate.runner import EvalResult

__all__ = [
    "render_markdown",
    "render_table",
    "result_to_dict",
    "write_html",
    "write_json",
    "write_markdown",
    "write_reports",
    "write_trec_run",
    "write_trec_runs",
]


def write_reports(result: EvalResult, out_dir: str | Path) -> dict[str, Path]:
    """Write every report into ``out_dir`` (created); returns {kind: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": write_markdown(result, out / "report.md"),
        "json": write_json(result, out / "report.json"),
        "html": write_html(result, out / "report.html"),
    }
    for name, path in write_trec_runs(result, out / "runs").items():
        paths[f"run:{name}"] = path
    return paths
