"""Index.open while another process commits back to back: how many opens fail, and
whether a reader that stays open across commits still finds its generation whole, with
generation leases (the default) and without them (the behaviour before).

    python bench/open_during_commits.py [--opens 10000] [--held 100]

A writer process upserts one small document per commit, as fast as it can, into a BM25-only
index of 50 documents; this process opens the index and runs one search per open, or holds
it open until three more commits have landed and then checks every file
(``Index.verify``). "Without leases" replaces ``IndexStore.lease`` in this process with one
that pins nothing, which is what readers did before. Writes the "open-during-commits"
section of docs/robustness.md and bench/results/open_during_commits.json.
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


def measure(attempts: int, opens: int, *, leases: bool = True, held: int = 0) -> dict:
    from blendrank import Document, Index
    from blendrank.index import embedded, store

    folder = Path(tempfile.mkdtemp(prefix="blendrank-open-"))
    path, stop = folder / "idx", folder / "stop"
    Index.create(path, embedder=None).add(
        [Document(f"w{i}", f"document {i} about agents") for i in range(50)]
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(stop)], stdout=subprocess.PIPE, text=True
    )
    embedded.OPEN_ATTEMPTS = attempts
    real_lease = store.IndexStore.lease
    if not leases:
        store.IndexStore.lease = lambda self, g: store.GenerationLease(g, None)  # type: ignore[method-assign]
    failures: dict[str, int] = {}
    damaged = 0
    t0 = time.perf_counter()
    try:
        for _ in range(opens):
            try:
                Index.open(path).search("agents", mode="bm25", top_k=1)
            except Exception as exc:  # noqa: BLE001 - every failure kind is counted
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
        for _ in range(held):
            index = Index.open(path)
            opened = index.info()["generation"]
            while store.read_manifest(path)["generation"] < opened + 3:
                time.sleep(0.005)
            damaged += bool(index.verify())
            del index
    finally:
        store.IndexStore.lease = real_lease  # type: ignore[method-assign]
        embedded.OPEN_ATTEMPTS = 20
    seconds = time.perf_counter() - t0
    stop.touch()
    commits = int(writer.communicate(timeout=120)[0] or 0)
    return {
        "opens": opens,
        "held": held,
        "commits": commits,
        "seconds": round(seconds, 1),
        "failures": failures,
        "held_damaged": damaged,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opens", type=int, default=10_000)
    parser.add_argument("--held", type=int, default=100)
    args = parser.parse_args()
    from blendrank.index.embedded import OPEN_ATTEMPTS

    o, h = args.opens, args.held
    rows = {
        f"leases + retry (OPEN_ATTEMPTS={OPEN_ATTEMPTS}, default)": measure(20, o, held=h),
        "leases, one attempt": measure(1, o, held=h),
        "no leases, one attempt (the behaviour before)": measure(1, o, leases=False, held=h),
    }
    save_json("open_during_commits", {"machine": machine(), "results": rows})
    lines = [
        "## Opening an index while another process commits",
        "",
        "| Index.open | opens | failed opens | readers held across 3 commits | "
        "of them finding files gone or changed | commits meanwhile | seconds |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for label, r in rows.items():
        failed = ", ".join(f"{n} {kind}" for kind, n in r["failures"].items()) or "0"
        lines.append(
            f"| {label} | {r['opens']} | {failed} | {r['held']} | {r['held_damaged']} "
            f"| {r['commits']} | {r['seconds']} |"
        )
    lines += [
        "",
        "Each open reads the manifest, loads the generation it names and runs one BM25 search; "
        "a writer process commits one upsert after another meanwhile (50-document BM25 index). "
        "A held reader opens the index, waits until three more commits have landed and then "
        "reads every file of its generation against the manifest's checksums "
        "(`Index.verify`). An open index pins its generation (a shared lock on "
        "`gen-N/LEASE`) and commits remove only generations nobody pins; without leases a "
        "commit removed every generation older than the previous one, so a held reader lost "
        "its files and an open that spanned two commits could too. The retry covers the "
        "moment between reading the manifest and taking the lease.",
        "",
        f"Machine: {machine()}. Reproduce: `python bench/open_during_commits.py`.",
    ]
    write_section_in(DOC, "open-during-commits", "\n".join(lines), "# Robustness\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
