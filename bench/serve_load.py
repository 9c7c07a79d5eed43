"""Load test of `blendrank serve`: concurrent clients sending 50-document rerank requests
(Cohere v2 format) to a real server on loopback, with micro-batching on and off.

    python bench/serve_load.py [--duration 60] [--clients 32] [--docs 50] [--threads 2]

The server is a subprocess serving the MiniLM-L6 cross-encoder architecture (the
all-MiniLM-L6-v2 encoder under a fresh 1-logit head, built here, ONNX fp32). Requests:
TREC DL 2020 queries, each with its BM25 top-50 passages. For each mode the server is
started fresh, warmed up, then loaded for --duration seconds; reported: errors, latency
p50/p99, requests/s, pairs/s, requests per model call, and the server's RSS sampled every
second (start, middle, end). Clients and server share the machine; its conditions are
written next to the figures. Writes the "serve-load" section of docs/benchmarks.md and
bench/results/serve_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, machine, percentile, save_json, write_section  # noqa: E402
from rerank_speed import build_model  # noqa: E402

MODEL = "minilm"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=60.0, help="seconds measured per mode")
    p.add_argument("--ramp", type=float, default=10.0, help="seconds of load before measuring")
    p.add_argument("--clients", type=int, default=32, help="concurrent clients")
    p.add_argument("--docs", type=int, default=50, help="documents per request")
    p.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads of the server")
    p.add_argument("--quantize", choices=["int8"], default=None, help="int8 model (default fp32)")
    p.add_argument("--max-batch-pairs", type=int, default=256)
    p.add_argument("--max-wait-ms", type=float, default=5.0)
    p.add_argument("--modes", default="batching,no-batching", help="comma-separated")
    p.add_argument("--no-write", action="store_true", help="do not touch docs/ or results/")
    return p.parse_args()


def read_jsonl(path: Path) -> dict[str, dict]:
    with open(path, encoding="utf-8") as fh:
        return {str(r["_id"]): r for r in map(json.loads, fh)}


def request_bodies(n_docs: int) -> list[dict]:
    """One Cohere v2 body per TREC DL 2020 query: the query and its BM25 top passages."""
    folder = DATA / "trec-dl20"
    if not (folder / "corpus.jsonl").exists():
        sys.exit(f"{folder} not found: the benchmarks need ../shared/data")
    run: dict[str, list[str]] = {}
    for line in open(folder / "runs" / "bm25.trec", encoding="utf-8"):
        qid, _, doc_id, *_ = line.split()
        run.setdefault(qid, []).append(doc_id)
    corpus = read_jsonl(folder / "corpus.jsonl")
    queries = read_jsonl(folder / "queries.jsonl")
    bodies = []
    for qid, doc_ids in run.items():
        if len(doc_ids) >= n_docs and qid in queries:
            texts = [corpus[d]["text"] for d in doc_ids[:n_docs]]
            bodies.append({"model": MODEL, "query": queries[qid]["text"], "documents": texts})
    return bodies


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(model_dir: Path, args: argparse.Namespace, batching: bool, log: Path):

    port = free_port()
    command = [
        sys.executable, "-m", "blendrank.cli.main", "serve",
        "--reranker", f"{MODEL}={model_dir}",
        "--port", str(port),
        "--threads", str(args.threads),
        "--max-batch-pairs", str(args.max_batch_pairs),
        "--max-wait-ms", str(args.max_wait_ms),
        "--max-queue-pairs", str(max(16_384, args.clients * args.docs)),
        "--request-timeout", str(args.duration + 600),
        "--log-level", "warning",
    ]  # fmt: skip
    if not batching:
        command.append("--no-batching")
    if args.quantize:
        command += ["--quantize", args.quantize]
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink)
    return process, wait_for_health(process, f"http://127.0.0.1:{port}", log)


def wait_for_health(process: subprocess.Popen, url: str, log: Path) -> str:
    """``url`` once its /health answers 200; exits with the server's log if it dies."""
    import httpx

    deadline = time.monotonic() + 300
    while True:
        if process.poll() is not None:
            sys.exit(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return url
        except httpx.TransportError:
            if time.monotonic() > deadline:
                process.kill()
                sys.exit("server did not start within 300 s")
            time.sleep(0.2)


class RssSampler:
    """The server's resident memory every second, in a background thread."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - start, self.process.memory_info().rss))
            self._stop.wait(1.0)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((self.samples[-1][0] + 1 if self.samples else 0.0, self.rss()))

    def rss(self) -> int:
        return int(self.process.memory_info().rss)


async def load(url: str, bodies: list[dict], clients: int, ramp: float, duration: float) -> dict:
    """``clients`` workers sending requests back to back for ``ramp + duration`` seconds.

    Counted: requests answered inside the window [ramp, ramp + duration]; the ramp lets the
    queue reach its steady state first. Requests still in flight when the window closes
    are abandoned (not errors): waiting for them would measure a draining server."""
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = iter(range(10**12))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timeout = httpx.Timeout(ramp + duration + 600)
    window: list[float] = []  # [start, end] once known

    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:

        async def worker() -> None:
            while True:
                body = bodies[next(counter) % len(bodies)]
                start = time.perf_counter()
                try:
                    response = await client.post("/v2/rerank", json=body)
                    results = response.json().get("results", []) if response.is_success else []
                    ok = response.status_code == 200 and len(results) == len(body["documents"])
                    key = "ok" if ok else f"http {response.status_code}"
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                if not window:  # still ramping up: errors count, latencies do not
                    if key != "ok":
                        errors[key] = errors.get(key, 0) + 1
                elif key == "ok":
                    latencies.append(time.perf_counter() - start)
                else:
                    errors[key] = errors.get(key, 0) + 1

        tasks = [asyncio.create_task(worker()) for _ in range(clients)]
        await asyncio.sleep(ramp)
        window.append(time.perf_counter())
        await asyncio.sleep(duration)
        elapsed = time.perf_counter() - window[0]
        answered, failed = list(latencies), dict(errors)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"latencies": answered, "errors": failed, "elapsed": elapsed}


async def warm_up(url: str, bodies: list[dict]) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        for body in bodies[:2]:
            (await client.post("/v2/rerank", json=body)).raise_for_status()


def batch_stats(url: str) -> dict:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    values = {}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text):
        for sample in family.samples:
            if sample.labels.get("model") == MODEL and sample.name.startswith(
                "blendrank_rerank_batch_requests_"
            ):
                values[sample.name.rsplit("_", 1)[1]] = sample.value
    return {"model_calls": values.get("count", 0.0), "requests": values.get("sum", 0.0)}


def run_mode(model_dir: Path, bodies: list[dict], args, batching: bool, work: Path) -> dict:
    label = "batching" if batching else "no-batching"
    process, url = start_server(model_dir, args, batching, work / f"server-{label}.log")
    try:
        asyncio.run(warm_up(url, bodies))
        before = batch_stats(url)
        with RssSampler(process.pid) as rss:
            result = asyncio.run(load(url, bodies, args.clients, args.ramp, args.duration))
        after = batch_stats(url)
    finally:
        process.terminate()
        process.wait(timeout=120)
    lat = result["latencies"]
    # the measurement window only: the ramp is when allocators warm up
    samples = [r for t, r in rss.samples if t >= args.ramp] or [r for _, r in rss.samples]
    calls = after["model_calls"] - before["model_calls"]
    return {
        "mode": label,
        "requests": len(lat),
        "errors": sum(result["errors"].values()),
        "error_kinds": result["errors"],
        "seconds": result["elapsed"],
        "requests_per_s": len(lat) / result["elapsed"],
        "pairs_per_s": len(lat) * args.docs / result["elapsed"],
        "p50_ms": percentile(lat, 50) * 1000,
        "p99_ms": percentile(lat, 99) * 1000,
        "requests_per_model_call": (after["requests"] - before["requests"]) / calls if calls else 0,
        "rss_mb": {
            "start": samples[0] / 2**20,
            "middle": samples[len(samples) // 2] / 2**20,
            "end": samples[-1] / 2**20,
            "max": max(samples) / 2**20,
        },
    }


def report(rows: list[dict], args: argparse.Namespace, conditions: dict) -> list[str]:
    by_mode = {r["mode"]: r for r in rows}
    ratio = None
    if "batching" in by_mode and "no-batching" in by_mode:
        ratio = by_mode["batching"]["requests_per_s"] / by_mode["no-batching"]["requests_per_s"]
    lines = [
        "## HTTP service under load",
        "",
        f"`blendrank serve` on loopback, {args.clients} concurrent clients sending "
        f"{args.docs}-document Cohere v2 rerank requests (TREC DL 2020 queries with their BM25 "
        f"top-{args.docs} passages) back to back; per mode a fresh server, warmed up, loaded for "
        f"{args.ramp:g} s before a {args.duration:g} s measurement window (requests answered in the "
        f"window count; those in flight when it closes are dropped). "
        f"Model: MiniLM-L6 cross-encoder architecture (fresh 1-logit head), ONNX "
        f"{args.quantize or 'fp32'}, "
        f"{args.threads} threads; batching: up to {args.max_batch_pairs} pairs per model call, "
        f"{args.max_wait_ms:g} ms max wait. Clients run on the same machine.",
        "",
        "| mode | requests | errors | requests/s | pairs/s | p50 ms | p99 ms | requests per model call | server RSS MB start / middle / end |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        m = r["rss_mb"]
        lines.append(
            f"| {r['mode']} | {r['requests']} | {r['errors']} | {r['requests_per_s']:.2f} | "
            f"{r['pairs_per_s']:.0f} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | "
            f"{r['requests_per_model_call']:.1f} | {m['start']:.0f} / {m['middle']:.0f} / {m['end']:.0f} |"
        )
    if ratio is not None:
        lines += ["", f"Throughput with batching / without: **{ratio:.2f}x**."]
    lines += [
        "",
        f"Machine: {machine()}; load average {conditions['load_before']:.2f} before, "
        f"{conditions['load_after']:.2f} after. Reproduce: `python bench/serve_load.py`.",
    ]
    return lines


def main() -> int:
    args = parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if any(m not in ("batching", "no-batching") for m in modes):
        sys.exit("--modes takes batching and/or no-batching")
    work = Path(tempfile.mkdtemp(prefix="blendrank-serve-load-"))
    os.environ.setdefault("BLENDRANK_CACHE", str(work / "cache"))
    model_dir = build_model(work / "minilm-ce")
    from blendrank.rerank.cross_encoder import CrossEncoderReranker

    CrossEncoderReranker(model_dir, quantize=args.quantize)  # export once: servers skip torch
    bodies = request_bodies(args.docs)
    load_before = os.getloadavg()[0]
    rows = []
    for mode in modes:
        row = run_mode(model_dir, bodies, args, mode == "batching", work)
        print(json.dumps(row), flush=True)
        rows.append(row)
    conditions = {"load_before": load_before, "load_after": os.getloadavg()[0]}
    lines = report(rows, args, conditions)
    print("\n".join(lines))
    if not args.no_write:
        settings = {k: v for k, v in vars(args).items() if k != "no_write"}
        save_json(
            "serve_load",
            {"machine": machine(), "settings": settings, **conditions, "rows": rows},
        )
        write_section("serve-load", "\n".join(lines))
    return 0 if all(r["errors"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
