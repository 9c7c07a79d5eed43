"""Search speed of one source tree against another in the same session, on an index that
already exists (no re-indexing): BM25 against plain bm25s, hybrid latency, hybrid per
document at top_k=100. Run it once per tree, one after the other:

    python bench/search_overhead.py bench/cache/index-scifact-default
    PYTHONPATH=OLD/src python bench/search_overhead.py bench/cache/index-scifact-default

Prints one JSON line (which blendrank was imported, the figures); the figures of record
come from bench/retrieval_speed.py, this is for before/after comparisons of a change.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BLENDRANK_THREADS", "2")
from _common import load_beir, machine, percentile  # noqa: E402
from retrieval_speed import bm25_overhead, hybrid_latency  # noqa: E402


def main() -> None:
    import blendrank
    from blendrank import Index

    folder = sys.argv[1] if len(sys.argv) > 1 else "bench/cache/index-scifact-default"
    dataset = sys.argv[2] if len(sys.argv) > 2 else "scifact"
    docs, queries, _ = load_beir(dataset)
    texts = list(queries.values())
    index = Index.open(folder)
    out: dict = {"code": blendrank.__file__, "machine": machine()}
    out["bm25"] = bm25_overhead(index, docs, texts, 3)
    out["hybrid"] = hybrid_latency(index, texts)
    for text in texts[:10]:
        index.search(text, top_k=100, per="document")
    times = []
    for text in texts:
        start = time.perf_counter()
        index.search(text, top_k=100, per="document")
        times.append((time.perf_counter() - start) * 1e3)
    out["hybrid_per_document_top100_p50_ms"] = percentile(times, 50)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
