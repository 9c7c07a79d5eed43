"""The evaluation harness over every collection: runs `blendrank eval` with the configs in
bench/eval/ and writes one table (NDCG@10, MRR@10, Recall@100, Hit@5, latency) into the
"eval-quality" section of docs/benchmarks.md. Reports land in bench/results/eval/<name>/.

    python bench/eval_quality.py [--datasets scifact cranfield cacm trec-dl20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, REPO, RESULTS, machine, write_section  # noqa: E402


def run_eval(name: str) -> dict:
    out = RESULTS / "eval" / name
    cmd = [
        sys.executable,
        "-m",
        "blendrank.cli.main",
        "eval",
        str(DATA / name),
        "--config",
        str(REPO / "bench" / "eval" / f"{name}.yaml"),
        "--report",
        str(out),
        "--no-progress",
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO)
    print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    docs = REPO / "docs" / "eval-reports"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "report.md", docs / f"{name}.md")
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def rows_for(name: str, report: dict) -> list[str]:
    rows = []
    for pipeline, entry in report["pipelines"].items():
        mean = entry["mean"]
        lat = entry["latency_seconds"].get("total") or {}
        values = [lat.get(p) for p in ("p50", "p95", "p99")]
        ok = all(isinstance(v, (int, float)) and v == v for v in values)  # a run file has none
        ms = "/".join(f"{v * 1e3:.1f}" for v in values) if ok else "— (precomputed run)"
        rows.append(
            f"| {name} | {pipeline} | {mean['ndcg@10']:.4f} | {mean['mrr@10']:.4f} | "
            f"{mean['recall@100']:.4f} | {mean['hit_rate@5']:.4f} | {ms} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["scifact", "cranfield", "cacm", "trec-dl20"]
    )
    args = parser.parse_args()
    lines = [
        "## Evaluation harness: quality and latency per pipeline",
        "",
        "| collection | pipeline | NDCG@10 | MRR@10 | Recall@100 | Hit@5 | latency p50/p95/p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in args.datasets:
        lines += rows_for(name, run_eval(name))
    lines += [
        "",
        "Index pipelines: product defaults (512/128-token chunks, all-MiniLM-L6-v2 int8, BM25 k1=1.5 "
        "b=0.75, RRF k=60, 100 candidates per retriever), per document; `+bi` reranks the fused top 50 "
        "with the bi-encoder (stored chunk vectors). TREC DL 2020 re-ranks the BM25 top-100 run "
        "(grade >= 2 relevant for binary metrics). No pretrained cross-encoder can be obtained here, "
        "so none is listed until the project trains one. Latency is per query, one at a time, "
        "query embedding included. Significance tests and error analysis: "
        "[docs/eval-reports/](eval-reports/) (the harness's Markdown reports from this run; HTML, "
        "JSON and TREC runs land in `bench/results/eval/<collection>/`).",
        "",
        f"Machine: {machine()}. Reproduce: `python bench/eval_quality.py` (each row is "
        "`blendrank eval <collection> --config bench/eval/<collection>.yaml --report ...`).",
    ]
    write_section("eval-quality", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
