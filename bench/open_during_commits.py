"""Index.open while another process commits back to back: how many opens fail, with the
retry on a replaced generation (the default) and without it (one attempt).

    python bench/open_during_commits.py [--opens 10000]

A writer process upserts one small document per commit, as fast as it can, into a BM25-only
index of 50 documents; this process opens the index and runs one search per open. Writes
the "open-during-commits" section of docs/robustness.md and
bench/results/open_during_commits.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, save_json, write_section_in  # noqa: E402

DOC = REPO / "docs" / "robustness.md"
WRITER = """
import os, sys
from blendrank import Document, Index
index = Index.open(sys.argv[1])
n = 0
while not os.path.exists(sys.argv[2]):
    n += 1
    index.add([Document(f"w{n % 50}", f"commit number {n} about agents")])
print(n)
"""


def measure(attempts: int, opens: int) -> dict:
    from blendrank import Document, Index
    from blendrank.index import embedded

    folder = Path(tempfile.mkdtemp(prefix="blendrank-open-"))
    path, stop = folder / "idx", folder / "stop"
    Index.create(path, embedder=None).add(
        [Document(f"w{i}", f"document {i} about agents") for i in range(50)]
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(stop)], stdout=subprocess.PIPE, text=True
    )
    embedded.OPEN_ATTEMPTS = attempts
    failures: dict[str, int] = {}
    t0 = time.perf_counter()
    for _ in range(opens):
        try:
            Index.open(path).search("agents", mode="bm25", top_k=1)
        except Exception as exc:  # noqa: BLE001 - every failure kind is counted
            failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
    seconds = time.perf_counter() - t0
    stop.touch()
    commits = int(writer.communicate(timeout=120)[0] or 0)
    return {"opens": opens, "commits": commits, "seconds": round(seconds, 1), "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=10_000)
    args = parser.parse_args()
    from blendrank.index.embedded import OPEN_ATTEMPTS

    rows = {
        f"retry (OPEN_ATTEMPTS={OPEN_ATTEMPTS}, default)": measure(OPEN_ATTEMPTS, args.opens),
        "one attempt (the behaviour before)": measure(1, args.opens),
    }
    save_json("open_during_commits", {"machine": machine(), "results": rows})
    lines = [
        "## Opening an index while another process commits",
        "",
        "| Index.open | opens | commits meanwhile | failed opens | seconds |",
        "|---|---:|---:|---|---:|",
    ]
    for label, r in rows.items():
        failed = ", ".join(f"{n} {kind}" for kind, n in r["failures"].items()) or "0"
        lines.append(f"| {label} | {r['opens']} | {r['commits']} | {failed} | {r['seconds']} |")
    lines += [
        "",
        "Each open reads the manifest, loads the generation it names and runs one BM25 search; "
        "a writer process commits one upsert after another meanwhile (50-document BM25 index). "
        "A commit deletes generations older than the previous one, so an open that spans two "
        "commits can find its files gone; with the retry it then opens the newer generation.",
        "",
        f"Machine: {machine()}. Reproduce: `python bench/open_during_commits.py`.",
    ]
    write_section_in(DOC, "open-during-commits", "\n".join(lines), "# Robustness\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
