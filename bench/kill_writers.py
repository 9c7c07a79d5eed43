"""kill -9 a writer at random moments, over and over, and check the index after each kill:
it opens, `verify()` finds every file's checksum intact, it holds only whole batches, and
no acknowledged batch is lost.

    python bench/kill_writers.py [--kills 120] [--seed 7]

The writer is a subprocess adding batches of 10 documents (BM25-only index, one commit per
batch, each a new segment; the writes merge segments when more than 8 pile up) and
printing the count after each acknowledged commit; every 7th batch it also merges every
segment into one (``optimize()``, between printed markers, so a kill inside it is
counted). It is killed 0 to 0.4 s after its first commit. Writes the "kill-writers" section of docs/robustness.md and
bench/results/kill_writers.json.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, save_json, write_section_in  # noqa: E402

WRITER = textwrap.dedent(
    """
    import sys
    from blendrank import Document, Index
    index = Index.open(sys.argv[1])
    for batch in range(len(index) // 10, 10**6):
        index.add([Document(f"d{batch}-{i}", f"batch {batch} text {i} " * 20) for i in range(10)])
        print(len(index), flush=True)
        if batch % 7 == 6:  # an explicit merge of every segment, between markers
            print("merge", flush=True)
            index.optimize()
            print("merged", flush=True)
    """
)


def check(path: Path, acknowledged: int) -> str | None:
    """None when the index is whole and holds every acknowledged batch, else what is wrong."""
    from blendrank import Index

    try:
        index = Index.open(path)
        damaged = index.verify()
    except Exception as exc:  # what a user would see: count it, never hide it
        return f"open failed: {type(exc).__name__}: {exc}"
    n = len(index)
    if damaged:
        return f"verify: {damaged[:2]}"
    if n % 10:
        return f"a partial batch is visible: {n} documents"
    if n < acknowledged:
        return f"lost acknowledged documents: {n} < {acknowledged}"
    if n and index.get(f"d{n // 10 - 1}-9") is None:
        return "the last batch's documents are missing"
    if index.info()["chunks"] != n:
        return f"{index.info()['chunks']} chunks for {n} documents"
    return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=120)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    from blendrank import Index

    rng = random.Random(args.seed)
    path = Path(tempfile.mkdtemp(prefix="blendrank-kill-")) / "idx"
    Index.create(path, embedder=None)
    problems: list[str] = []
    acknowledged = 0
    in_merge = 0
    start = time.perf_counter()
    for _ in range(args.kills):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        first = proc.stdout.readline() if proc.stdout else ""
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        rest = proc.communicate()[0]
        lines = (first + rest).split()
        counts = [int(line) for line in lines if line.isdigit()]
        in_merge += bool(lines) and lines[-1] == "merge"
        acknowledged = max([acknowledged, *counts])
        problem = check(path, acknowledged)
        if problem:
            problems.append(problem)
    seconds = time.perf_counter() - start
    final = len(Index.open(path))
    leftovers = sorted(p.name for p in path.iterdir() if p.name.startswith(".tmp"))
    result = {
        "machine": machine(),
        "kills": args.kills,
        "kills_inside_optimize": in_merge,
        "broken": len(problems),
        "problems": problems[:10],
        "documents_at_end": final,
        "acknowledged_at_end": acknowledged,
        "temp_folders_left": len(leftovers),
        "seconds": seconds,
    }
    save_json("kill_writers", result)
    body = "\n".join(
        [
            "## Writers killed with kill -9",
            "",
            f"{args.kills} writer processes, each adding batches of 10 documents (one commit "
            "and one new segment per batch; writes merge segments when more than 8 pile up; "
            "every 7th batch an `optimize()` merges all) and killed with SIGKILL 0 to 0.4 s "
            "after its first acknowledged commit. After each kill the index was opened, "
            "`verify()` checked every file's checksum, and it had to hold only whole batches "
            "and every acknowledged one.",
            "",
            "| kills | of them inside `optimize()` | broken or losing indexes | documents at the "
            "end (acknowledged) | temp folders left at the end |",
            "|---:|---:|---:|---:|---:|",
            f"| {args.kills} | {in_merge} | {len(problems)} | {final} ({acknowledged}) | "
            f"{len(leftovers)} |",
            "",
            f"{seconds:.0f} s in all. Machine: {machine()}. Reproduce: "
            "`python bench/kill_writers.py`.",
        ]
    )
    write_section_in(REPO / "docs" / "robustness.md", "kill-writers", body, "# Robustness\n")
    print(body)
    if problems:
        print("problems:", *problems[:10], sep="\n  ")


if __name__ == "__main__":
    main()
