"""Reports: Markdown for newcomers, JSON, TREC runs that score the same, and an HTML
report whose plots a headless Chromium really renders."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from blendrank.evaluate import EvalConfig, evaluate, evaluate_ranking, load_beir, read_run
from blendrank.evaluate.reports import render_markdown, render_table, write_reports
from blendrank.evaluate.reports.html import render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def result(toy_dir, tmp_path_factory):
    cfg = EvalConfig.from_mapping(
        {
            "metrics": ["ndcg@10", "mrr@10", "recall@10"],
            "pipelines": [
                {"name": "first", "type": "run", "run": "runs/first.trec"},
                {"name": "bm25", "mode": "bm25", "chunk_size": 64, "chunk_overlap": 8},
                {
                    "name": "first+bi",
                    "type": "rerank_run",
                    "run": "runs/first.trec",
                    "reranker": "bi:all-MiniLM-L6-v2",
                },
            ],
        }
    )
    return evaluate(load_beir(toy_dir), cfg, work_dir=tmp_path_factory.mktemp("work"))


@pytest.fixture(scope="module")
def report_dir(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    write_reports(result, out)
    return out


def test_markdown_reads_for_a_newcomer(result):
    md = render_markdown(result)
    assert md.startswith("# Retrieval evaluation: beir_toy (test split)")
    for heading in (
        "## How to read this report",
        "## Results",
        "## Are the differences real?",
        "## Where the time goes",
        "## Where the rerankers went wrong",
        "## Pipelines",
    ):
        assert heading in md
    assert "nDCG@k: graded quality of the top k" in md  # every metric used is explained
    assert "MRR@k" in md and "Recall@k" in md and "MAP" not in md  # ... and only those
    assert "| pipeline | ndcg@10 | mrr@10 | recall@10 | latency p50 (ms) |" in md
    # the reranker's mistake on q1, in words: relevant d3 pushed 2 -> 3, d7 pulled 3 -> 2
    assert "`d3` (grade 1) rank 2 → 3" in md
    assert "`d7` (grade 0) rank 3 → 2: Gossip. Why do cats purr?" in md
    assert "baseline **first**" in md


def test_terminal_table(result):
    text = render_table(result)
    lines = text.splitlines()
    assert lines[2].split() == [
        "pipeline",
        "ndcg@10",
        "mrr@10",
        "recall@10",
        "p50",
        "ms",
        "p95",
        "ms",
    ]
    row = next(line for line in lines if line.startswith("first "))
    assert f"{result.runs['first'].metrics.mean['ndcg@10']:.4f}" in row


def test_json_report(report_dir, result):
    data = json.loads((report_dir / "report.json").read_text())
    assert data["dataset"] == "beir_toy" and data["queries"] == 3
    assert data["pipelines"]["first"]["per_query"]["ndcg@10"]["q3"] == 1.0
    assert data["significance"]["correction"] == "holm-bonferroni"
    assert len(data["significance"]["comparisons"]) == 2
    assert data["error_analysis"]["first+bi"][0]["query_id"] == "q1"
    assert set(data["pipelines"]["bm25"]["latency_seconds"]["total"]) >= {"p50", "p95", "p99"}


def test_trec_runs_round_trip(report_dir, result, toy_dir):
    qrels = load_beir(toy_dir).qrels
    for name, filename in (("first", "first.trec"), ("first+bi", "first_bi.trec")):
        run = read_run(report_dir / "runs" / filename)
        again = evaluate_ranking(qrels, run, result.metrics)
        assert again.mean == pytest.approx(result.runs[name].metrics.mean)


def test_html_is_self_contained(result):
    page = render_html(result)
    assert page.count("<svg") == 2  # quality/latency and per-query deltas
    assert "<script" not in page and not re.search(r'(src|href)="(http|file|/)', page)


def _colour_pixels(png_path):
    """Pixel counts: not white, and near each plot colour (within 6 per channel)."""
    image = (
        pytest.importorskip("PIL.Image", reason="PIL (extra 'eval') is not installed")
        .open(png_path)
        .convert("RGB")
    )
    pixels = np.asarray(image, dtype=np.int16).reshape(-1, 3)
    targets = {"blue": (9, 105, 218), "green": (26, 127, 55), "red": (207, 34, 46)}
    counts = {"non_white": int(np.any(pixels != 255, axis=1).sum())}
    for name, rgb in targets.items():
        counts[name] = int((np.abs(pixels - np.array(rgb)) <= 6).all(axis=1).sum())
    return counts


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_html_plots_render_in_headless_chromium(report_dir, tmp_path):
    shot = tmp_path / "shot.png"
    # tall window: the plots sit below the tables
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,2400",
            (report_dir / "report.html").resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    counts = _colour_pixels(shot)
    assert counts["non_white"] > 50_000  # text, tables, axes
    assert counts["blue"] > 50  # the quality-vs-latency points (#0969da)
    # per-query deltas: first+bi beat first on q2 (green bar) and lost on q1 (red bar)
    assert counts["green"] > 500 and counts["red"] > 500
