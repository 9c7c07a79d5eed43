"""The same SciFact collection in the embedded index and in every engine store: Milvus
(milvus-lite in process, and the same core as a loopback server), Qdrant (qdrant-client's
local mode, and Qdrant Edge, its Rust engine in process) and PostgreSQL 18 + pgvector 0.8
(a loopback server): NDCG@10 of BM25 (or the engine's full-text search), dense and
hybrid, ingest rate with embedding excluded, and search latency per mode.

    python bench/backends.py [--latency-queries 100]

Both stores get the same chunks (512 tokens, 128 overlap, MiniLM tokenizer) and the same
vectors: documents are embedded once (the cached embedded index of
bench/retrieval_quality.py) and replayed to every store, so the ingest rate measures the
store, not the model. Queries are embedded by the same model in every store. Results are
per document (best chunk), top 100, as in bench/retrieval_quality.py. Writes the
"backends" section of docs/backends.md and bench/results/backends.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    CACHE,
    REPO,
    load_beir,
    machine,
    ndcg_at_10,
    percentile,
    save_json,
    write_section_in,
)

DOC = REPO / "docs" / "backends.md"


class ReplayEmbedder:
    """The index's own embedder, answering document texts it has seen with the stored
    vectors (so ingest is timed without the model); queries go to the real model."""

    def __init__(self, real, vectors: dict[str, np.ndarray]):
        self._real, self._vectors = real, vectors
        self.missed = 0

    def __getattr__(self, name):
        return getattr(self._real, name)

    def embed_documents(self, texts, progress=False, **kw):
        out = []
        for text in texts:
            vector = self._vectors.get(text)
            if vector is None:
                self.missed += 1
                vector = self._real.embed_documents([text])[0]
            out.append(vector)
        return np.asarray(out, dtype=np.float32)


def start_milvus_server(folder: Path) -> tuple[subprocess.Popen, str]:
    import milvus_lite

    lib = Path(milvus_lite.__file__).parent / "lib"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [str(lib / "milvus"), str(folder / "server.db"), f"127.0.0.1:{port}", "ERROR"],
        env={**os.environ, "LD_LIBRARY_PATH": str(lib)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, f"milvus://127.0.0.1:{port}/scifact"
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                sys.exit("the milvus server did not start")
            time.sleep(0.2)


def measure(store, queries: dict, qrels: dict, latency_queries: int) -> dict:
    qids = list(queries)
    out = {}
    for mode in ("bm25", "dense", "hybrid"):
        run = {}
        for q in qids:
            hits = store.search(queries[q], top_k=100, mode=mode, per="document")
            run[q] = {h.doc_id: h.score for h in hits}
        seconds = []
        for q in qids[:latency_queries]:
            t0 = time.perf_counter()
            store.search(queries[q], top_k=10, mode=mode, per="document")
            seconds.append(time.perf_counter() - t0)
        out[mode] = {
            "ndcg@10": round(ndcg_at_10(qrels, run), 4),
            "p50_ms": round(percentile(seconds, 50) * 1000, 1),
            "p95_ms": round(percentile(seconds, 95) * 1000, 1),
        }
        print(mode, out[mode], flush=True)
    return out


def load_pg_server():
    import importlib.util

    path = REPO / "tests" / "backends" / "pg_server.py"
    spec = importlib.util.spec_from_file_location("pg_server", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PostgresServer


def lexical_only(store, retriever, queries: dict, qrels: dict, latency_queries: int) -> dict:
    """NDCG@10 and latency of one lexical retriever (e.g. PostgreSQL's ts_rank_cd)."""
    from blendrank.types import Query

    run, seconds = {}, []
    for n, (q, text) in enumerate(queries.items()):
        t0 = time.perf_counter()
        ranking = retriever.retrieve(Query(text), 100)
        if n < latency_queries:
            seconds.append(time.perf_counter() - t0)
        best: dict[str, float] = {}
        for hit in ranking:
            best.setdefault(hit.doc_id, hit.score)
        run[q] = best
    return {
        "ndcg@10": round(ndcg_at_10(qrels, run), 4),
        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
        "p95_ms": round(percentile(seconds, 95) * 1000, 1),
    }


def engine_rrf(store, queries: dict, qrels: dict) -> float:
    from blendrank.types import Query

    retriever = store.engine_hybrid("rrf", rrf_k=60)
    run = {}
    for q, text in queries.items():
        best: dict[str, float] = {}
        for hit in retriever.retrieve(Query(text), 100):
            best.setdefault(hit.doc_id, hit.score)
        run[q] = best
    return round(ndcg_at_10(qrels, run), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-queries", type=int, default=100)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="pkg_resources")
    from blendrank import Index
    from blendrank.backends import connect

    docs, queries, qrels = load_beir("scifact")
    cached = CACHE / "index-scifact-default"
    if not cached.exists():
        sys.exit("run bench/retrieval_quality.py --datasets scifact first (builds the index)")
    reference = Index.open(cached)
    state = reference._state
    texts = list(state.row_texts(reference.title_in_chunks))
    vectors = reference.chunk_vectors(state.chunk_ids)
    replay = ReplayEmbedder(reference.embedder, dict(zip(texts, vectors, strict=True)))

    work = Path(tempfile.mkdtemp(prefix="blendrank-backends-"))
    rows: dict[str, dict] = {}
    server = postgres = None
    try:
        t0 = time.perf_counter()  # creating the folder counts, as the store's create does not
        embedded = Index.create(work / "embedded", embedder=reference.embedder)
        embedded._embedder = replay
        embedded.add(docs)
        embedded._embedder = reference.embedder
        rows["embedded index"] = {
            "ingest_docs_per_s": round(len(docs) / (time.perf_counter() - t0))
        }
        rows["embedded index"].update(measure(embedded, queries, qrels, args.latency_queries))
        server, server_uri = start_milvus_server(work)
        postgres = load_pg_server()().start()
        stores = [
            (
                "Milvus (milvus-lite 2.5.1, in process)",
                f"milvus+lite:{work / 'milvus.db'}?collection=scifact",
            ),
            ("Milvus server (same core, loopback)", server_uri),
            ("Qdrant, qdrant-client local mode", f"qdrant+local:{work / 'qdrant'}"),
            ("Qdrant Edge 0.9 (Rust engine, in process)", f"qdrant+edge:{work / 'edge'}"),
            ("PostgreSQL 18 + pgvector 0.8 (loopback)", postgres.uri("scifact")),
        ]
        for label, uri in stores:
            store = connect(uri, create=True, embedder=reference.embedder)
            store._embedder = replay
            t0 = time.perf_counter()
            store.add(docs)
            row = {"ingest_docs_per_s": round(len(docs) / (time.perf_counter() - t0))}
            store._embedder = reference.embedder
            row.update(measure(store, queries, qrels, args.latency_queries))
            row["engine_rrf_ndcg@10"] = engine_rrf(store, queries, qrels)
            rows[label] = row
            if uri.startswith("postgresql"):
                full = lexical_only(store, store.fulltext(), queries, qrels, args.latency_queries)
                rows[label]["fulltext"] = full
                print("fulltext", full, flush=True)
            store.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(work, ignore_errors=True)
    save_json("backends", {"machine": machine(), "missed_vectors": replay.missed, "rows": rows})
    lines = [
        "## Measured: SciFact on each store",
        "",
        "| store | ingest docs/s (embedding excluded) | BM25 NDCG@10 | dense NDCG@10 | "
        "hybrid RRF (blendrank) NDCG@10 | hybrid RRF (engine) NDCG@10 | BM25 p50 / p95 ms | "
        "dense p50 / p95 ms | hybrid p50 / p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in rows.items():
        lat = " | ".join(
            f"{r[m]['p50_ms']} / {r[m]['p95_ms']}" for m in ("bm25", "dense", "hybrid")
        )
        lines.append(
            f"| {label} | {r['ingest_docs_per_s']} | {r['bm25']['ndcg@10']:.4f} | "
            f"{r['dense']['ndcg@10']:.4f} | {r['hybrid']['ndcg@10']:.4f} | "
            f"{r.get('engine_rrf_ndcg@10', '-')} | {lat} |"
        )
        if "fulltext" in r:
            f = r["fulltext"]
            lines.append(
                f"| {label}: full text (`ts_rank_cd`) instead of BM25 | - | "
                f"{f['ndcg@10']:.4f} | - | - | - | {f['p50_ms']} / {f['p95_ms']} | - | - |"
            )
    lines += [
        "",
        f"SciFact test: {len(docs)} documents, {len(queries)} queries, one chunk per document "
        "for most (512 tokens, 128 overlap). Same vectors in every store (all-MiniLM-L6-v2 "
        f"int8 ONNX, embedded once and replayed; {replay.missed} missed). Latency: one query "
        f"at a time, {args.latency_queries} queries, top 10 per document, query embedding "
        "included for dense and hybrid; every server is on the same 2 cores as the client "
        "(PostgreSQL: one process per connection, no parallel workers). What BM25 is on each: "
        "the embedded index, Qdrant and PostgreSQL run blendrank's analyzer (English stop "
        "words, Snowball stemming, k1 1.5, b 0.75) and the exact-phrase rule; Qdrant applies "
        "the IDF itself (avgdl fixed at the first write); PostgreSQL computes the whole "
        "formula in SQL with the current statistics; Milvus uses its own `english` analyzer "
        "and BM25 parameters. Full text is PostgreSQL's `ts_rank_cd` over "
        "`to_tsvector('english')`, any query term matching. Engine RRF: Milvus' "
        "`hybrid_search` with `RRFRanker(60)` (ranks from 1), Qdrant's prefetch + "
        "`Rrf(k=60)` (ranks from 0), PostgreSQL's RRF in SQL (k 60, ranks from 1), each over "
        "the top 100 chunks of each side, collapsed per document afterwards.",
        "",
        f"Machine: {machine()}. Reproduce: `python bench/backends.py`.",
    ]
    write_section_in(DOC, "backends", "\n".join(lines), "# Backends\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
