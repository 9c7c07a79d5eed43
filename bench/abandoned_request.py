"""Does a rerank request that times out keep the model busy? A long request (400 SciFact
abstracts, about 13 s of cross-encoder work on 2 cores) is sent with a short server
timeout; as soon as its 504 arrives, small requests (20 short passages) are sent one after
another and their latency is compared with the same requests on an idle server.

    python bench/abandoned_request.py [--against PATH_TO_OLD_SRC]

Each server is a subprocess of `blendrank serve` with the MiniLM-L6 cross-encoder
architecture (built as in bench/rerank_speed.py, ONNX fp32, 2 threads,
--max-batch-pairs 64, --request-timeout 3). ``--against`` also runs the server from
another source tree (e.g. a worktree of the commit before requests were queued in parts)
in the same run. Writes the "abandoned-request" section of docs/robustness.md and
bench/results/abandoned_request.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, REPO, machine, percentile, save_json, write_section_in  # noqa: E402
from rerank_speed import build_model  # noqa: E402
from serve_load import free_port, wait_for_health  # noqa: E402

TIMEOUT_S = 3.0
BATCH_PAIRS = 64


def texts() -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in open(DATA / "scifact" / "corpus.jsonl", encoding="utf-8")]
    long = [f"{r.get('title', '')}\n{r['text']}" for r in rows[:400]]
    short = [r["text"][:300] for r in rows[400:420]]
    return long, short


def start(model: Path, source: str | None, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ)
    if source:
        env["PYTHONPATH"] = source
    command = [
        sys.executable, "-m", "blendrank.cli.main", "serve",
        "--reranker", f"minilm={model}", "--port", str(port), "--threads", "2",
        "--max-batch-pairs", str(BATCH_PAIRS), "--request-timeout", str(TIMEOUT_S),
        "--log-level", "warning",
    ]  # fmt: skip
    if not source:  # the old server has no budget; let the long request through here too
        command += ["--max-request-tokens", "10000000"]
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    return process, wait_for_health(process, f"http://127.0.0.1:{port}", log)


def small_latencies(url: str, short: list[str], n: int) -> tuple[list[float], int]:
    """Seconds of ``n`` small requests one after another, and how many failed (504)."""
    import httpx

    out, failed = [], 0
    for i in range(n):
        body = {"model": "minilm", "query": f"question {i}", "documents": short}
        t0 = time.perf_counter()
        response = httpx.post(f"{url}/v2/rerank", json=body, timeout=120)
        out.append(time.perf_counter() - t0)
        failed += response.status_code != 200
    return out, failed


def measure(model: Path, source: str | None, label: str, work: Path) -> dict:
    import httpx

    long, short = texts()
    process, url = start(model, source, work / f"{label}.log")
    try:
        small_latencies(url, short, 3)  # warm-up: model session, export cache
        idle, _ = small_latencies(url, short, 10)
        body = {"model": "minilm", "query": "how do cells age", "documents": long}
        t0 = time.perf_counter()
        response = httpx.post(f"{url}/v2/rerank", json=body, timeout=120)
        long_seconds = time.perf_counter() - t0
        after, failed = small_latencies(url, short, 10)
        # then wait until the model is free again: how long the abandoned work ran on
        t1 = time.perf_counter()
        while small_latencies(url, short, 1)[1]:
            pass
        busy_until = time.perf_counter() - t1
    finally:
        process.terminate()
        process.wait(timeout=60)
    return {
        "label": label,
        "long_status": response.status_code,
        "long_seconds": long_seconds,
        "idle_p50_s": percentile(idle, 50),
        "idle_max_s": max(idle),
        "first_after_s": after[0],
        "after_p50_s": percentile(after, 50),
        "after_failed": failed,
        "extra_wait_s": busy_until,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--against", help="source folder (src/) of another version to run too")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="blendrank-abandoned-"))
    model = build_model(work / "minilm-ce")
    runs = [measure(model, None, "parts (this version)", work)]
    if args.against:
        runs.append(measure(model, str(Path(args.against).resolve()), "one job (--against)", work))
    for run in runs:
        print(run, flush=True)
    save_json("abandoned_request", {"machine": machine(), "runs": runs})
    rows = [
        f"| {r['label']} | {r['long_status']} after {r['long_seconds']:.1f} s | "
        f"{r['idle_p50_s'] * 1e3:.0f} ms | {r['first_after_s'] * 1e3:.0f} ms | "
        f"{r['after_p50_s'] * 1e3:.0f} ms | {r['after_failed']} of 10 |"
        for r in runs
    ]
    body = "\n".join(
        [
            "## A long rerank request that times out",
            "",
            "One request of 400 SciFact abstracts (title + text, about 13 s of MiniLM-L6 "
            f"cross-encoder work) against `--request-timeout {TIMEOUT_S:g}`, then 10 small "
            "requests (20 passages of 300 characters) one after another, as soon as the 504 "
            "arrives. `blendrank serve`, ONNX fp32, 2 threads, "
            f"`--max-batch-pairs {BATCH_PAIRS}`; the long request is let through the "
            "compute budget (`--max-request-tokens 10000000`) to reach the model.",
            "",
            "| server | long request | small request, idle server (p50) | first small "
            "request after the 504 | small requests after (p50) | of those, 504 |",
            "|---|---|---:|---:|---:|---:|",
            *rows,
            "",
            f"Machine: {machine()}. Reproduce: `python bench/abandoned_request.py "
            "--against OLD/src`.",
        ]
    )
    write_section_in(REPO / "docs" / "robustness.md", "abandoned-request", body, "# Robustness\n")
    print(body)


if __name__ == "__main__":
    main()
