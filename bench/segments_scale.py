"""Incremental writes at a million chunks: add 100 documents, delete 100, against the
full rebuild each write cost before segments, in one run.

Embedding is excluded, as the issue asks: the index's embedder here is a stand-in that
returns a fixed pseudo-random unit vector per text (``HashedVectors``, named so; it is
not a model), so the timings are the index's own work: chunking, BM25, vectors, files,
the commit. The corpus is synthetic: documents of 40 words drawn from a Zipf law over
50,000 made-up words, one chunk each.

The reference ("before segments") is the same write run by the blendrank of git revision
``--reference`` (default 30060a8, the last one before segments) in a subprocess, on an
index of the same documents built by that revision.

    python bench/segments_scale.py [--docs 1000000] [--reference 30060a8] [--no-reference]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, machine, save_json, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DIM = 384
WORDS = 40


def make_texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{np.base_repr(i, 36).lower()}" for i in range(50_000)])
    ids = np.minimum(rng.zipf(1.3, size=(n, WORDS)) - 1, len(vocab) - 1)
    return [" ".join(row) for row in vocab[ids].tolist()]


# the stand-in embedder and the timed steps, shared by this run and the reference run
WORKER_TEMPLATE = r'''
import hashlib, json, sys, time
import numpy as np
from blendrank import Document, Index
from blendrank.embed.base import Embedder

class HashedVectors(Embedder):
    """Stand-in for a model (embedding is excluded from the timings): a fixed
    pseudo-random unit vector per text."""
    max_tokens = 512
    def _embed_batch(self, texts, kind):
        out = np.empty((len(texts), %(dim)d), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            out[i] = np.random.default_rng(seed).standard_normal(%(dim)d)
        return out
    def config(self):
        return {"type": "bench-hashed-vectors", "dim": %(dim)d}
    def count_truncated(self, texts):
        return 0

def docs(texts, tag):
    return [Document(f"{tag}{i}", t) for i, t in enumerate(texts)]

texts = json.load(open(sys.argv[1]))
path, batches = sys.argv[2], int(sys.argv[3])
index = Index.create(path, embedder=HashedVectors())
out = {}
t = time.perf_counter()
step = -(-len(texts["base"]) // batches)
for lo in range(0, len(texts["base"]), step):
    index.add([Document(f"b{lo + i}", x) for i, x in enumerate(texts["base"][lo:lo + step])])
out["build_s"] = time.perf_counter() - t
if hasattr(index, "optimize"):
    t = time.perf_counter(); index.optimize(); out["optimize_s"] = time.perf_counter() - t
new = docs(texts["new"], "n")
embed_t = time.perf_counter(); HashedVectors().embed_documents([d.text for d in new])
out["stand_in_embedding_s"] = time.perf_counter() - embed_t
t = time.perf_counter(); index.add(new); out["add_100_s"] = time.perf_counter() - t
t = time.perf_counter(); index.delete([f"b{i}" for i in range(0, len(texts["base"]), max(1, len(texts["base"]) // 100))][:100])
out["delete_100_s"] = time.perf_counter() - t
q = texts["base"][12345 % len(texts["base"])].split()[:3]
t = time.perf_counter()
for _ in range(20):
    hits = index.search(" ".join(q), top_k=10, mode="hybrid")
out["hybrid_search_ms"] = (time.perf_counter() - t) / 20 * 1000
out["chunks"] = index.info()["chunks"]
out["segments"] = index.info().get("segments")
out["bytes_on_disk"] = index.info()["bytes_on_disk"]
import blendrank, resource
out["blendrank"] = blendrank.__file__
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

print(json.dumps(out))
'''
WORKER = WORKER_TEMPLATE.replace("%(dim)d", str(DIM))


# a fresh process opens the index the worker left: what opening costs, in time and RSS
OPENER = r"""
import json, sys, time
def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
from blendrank import Index
before = rss_mb()
t = time.perf_counter(); index = Index.open(sys.argv[1]); out = {"open_s": time.perf_counter() - t}
out["open_rss_mb"] = rss_mb() - before
t = time.perf_counter(); index.search("w1 w2", top_k=10, mode="bm25")
out["first_bm25_search_s"] = time.perf_counter() - t
out["rss_after_search_mb"] = rss_mb() - before
print(json.dumps(out))
"""


def run_worker(src: Path, texts_file: Path, batches: int) -> dict:
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        script = Path(tmp) / "worker.py"
        script.write_text(WORKER, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(script), str(texts_file), str(Path(tmp) / "idx"), str(batches)],
            env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2"},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"worker failed:\n{done.stderr[-3000:]}")
        out = json.loads(done.stdout.strip().splitlines()[-1])
        opener = Path(tmp) / "opener.py"
        opener.write_text(OPENER, encoding="utf-8")
        opened = subprocess.run(
            [sys.executable, str(opener), str(Path(tmp) / "idx")],
            env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2"},
            capture_output=True,
            text=True,
            check=False,
        )
        if opened.returncode == 0:
            out.update(json.loads(opened.stdout.strip().splitlines()[-1]))
        return out


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=4, help="adds the base is written in")
    parser.add_argument("--reference", default="30060a8")
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    texts = {"base": make_texts(args.docs, 0), "new": make_texts(100, 1)}
    texts_file = CACHE / f"segments_scale_{args.docs}.json"
    texts_file.write_text(json.dumps(texts), encoding="utf-8")
    digest = hashlib.blake2b(texts_file.read_bytes(), digest_size=8).hexdigest()
    mine = run_worker(ROOT / "src", texts_file, args.batches)
    print("segments:", mine, flush=True)
    before = None
    if not args.no_reference:
        worktree = CACHE / f"blendrank-{args.reference}"
        if not worktree.exists():
            subprocess.run(
                [
                    "git",
                    "-C",
                    str(ROOT),
                    "worktree",
                    "add",
                    "--detach",
                    str(worktree),
                    args.reference,
                ],
                check=True,
            )
        before = run_worker(worktree / "src", texts_file, 1)
        print("before segments:", before, flush=True)
    payload = {
        "machine": machine(),
        "docs": args.docs,
        "texts": digest,
        "segments": mine,
        "before_segments": before,
    }
    save_json("segments_scale", payload)

    def row(name: str, key: str) -> str:
        now = mine.get(key)
        old = before.get(key) if before else None
        ratio = f"{old / now:.2f}x" if now and old else "-"
        return f"| {name} | {_fmt(now)} | {_fmt(old)} | {ratio} |"

    body = "\n".join(
        [
            "## Incremental writes at scale (segments)",
            "",
            f"{mine['chunks']:,} chunks (synthetic, one per document), dense + BM25, exact "
            "dense search (no HNSW), embedding excluded (a stand-in embedder named "
            "`HashedVectors` in the bench; its own time is shown apart). Segments: the "
            f"base written in {args.batches} adds, then `optimize()`; before segments "
            f"(revision {args.reference}): one add. Machine: {machine()}. Reproduce: "
            f"`python bench/segments_scale.py --docs {args.docs}`.",
            "",
            "| step (seconds) | segments | before segments | before / segments |",
            "|---|---:|---:|---:|",
            row("add 100 documents", "add_100_s"),
            row("delete 100 documents", "delete_100_s"),
            row("build the base", "build_s"),
            f"| optimize (merge all into one) | {mine.get('optimize_s', 0):.2f} | - | - |",
            row("stand-in embedding of the 100 (excluded above)", "stand_in_embedding_s"),
            row("hybrid search after the writes, ms per query", "hybrid_search_ms"),
            "",
            f"Opening the index in a fresh process: {_fmt(mine.get('open_s'))} s, RSS "
            f"+{_fmt(mine.get('open_rss_mb'))} MB (vectors and postings are memory-mapped; "
            "the documents and the BM25 vocabulary are read), "
            f"+{_fmt(mine.get('rss_after_search_mb'))} MB after its first BM25 search ("
            f"{_fmt(mine.get('first_bm25_search_s'))} s)"
            + (
                f"; before segments {_fmt(before.get('open_s'))} s and "
                f"+{_fmt(before.get('open_rss_mb'))} MB. "
                if before
                else ". "
            )
            + f"Peak RSS of the writing process {_fmt(mine.get('peak_rss_mb'))} MB.",
            "",
            f"Segments after the writes: {mine['segments']}; on disk "
            f"{mine['bytes_on_disk'] / 2**30:.2f} GiB"
            + (f" (before segments {before['bytes_on_disk'] / 2**30:.2f} GiB)." if before else "."),
        ]
    )
    write_section("segments_scale", body)
    print(body)


if __name__ == "__main__":
    main()
