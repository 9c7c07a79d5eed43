"""Damage every file of an index generation in several ways and see what a user gets:
a clear error on open (the file named, what to do), damage found by `blendrank verify`
(checksums), a raw exception, or, worst, silently different results.

    python bench/corruption.py

The index: 40 small documents, hybrid (default embedder), one generation. Each case
starts from a fresh copy. "silent" means the index opened, verify() found nothing and a
fixed set of searches returned different results than before the damage. Writes the
"corruption" section of docs/robustness.md and bench/results/corruption.json.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, save_json, write_section_in  # noqa: E402

QUERIES = ["backup restore", "agent license seats", "document 7", "error code"]


def truncate(path: Path, rng: random.Random) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def delete(path: Path, rng: random.Random) -> None:
    path.unlink()


def flip_bit(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    at = rng.randrange(len(data))
    data[at] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


def append_garbage(path: Path, rng: random.Random) -> None:
    with open(path, "ab") as handle:
        handle.write(bytes(rng.randrange(256) for _ in range(64)))


def zero_tail(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    keep = len(data) * 3 // 4
    path.write_bytes(bytes(data[:keep]) + bytes(len(data) - keep))


def swap_rows(path: Path, rng: random.Random) -> None:
    """Same size, valid format: the damage only a checksum can see."""
    import numpy as np

    if path.suffix != ".npy":
        raise NotImplementedError
    array = np.load(path)
    np.save(path, array[::-1].copy())


DAMAGES = {
    "truncated to half": truncate,
    "deleted": delete,
    "one bit flipped": flip_bit,
    "64 bytes appended": append_garbage,
    "last quarter zeroed": zero_tail,
    "rows permuted (same size)": swap_rows,
}


def results(index) -> list:
    return [[h.id for h in index.search(q, top_k=5)] for q in QUERIES]


def outcome(folder: Path, before: list) -> str:
    from blendrank import Index
    from blendrank.errors import BlendrankError

    try:
        index = Index.open(folder)
    except BlendrankError as exc:
        clear = "restore" in str(exc).lower() or "rebuild" in str(exc).lower()
        return "clear error on open" if clear else "error without advice"
    except Exception as exc:
        return f"raw {type(exc).__name__}"
    try:
        found = bool(index.verify())
        after = results(index)
    except BlendrankError:
        return "clear error at search"
    except Exception as exc:
        return f"raw {type(exc).__name__} at search"
    if found:
        return "opens; verify names it; results " + ("same" if after == before else "differ")
    return "unchanged" if after == before else "silent"


def main() -> None:
    from blendrank import Document, Index

    work = Path(tempfile.mkdtemp(prefix="blendrank-corrupt-"))
    pristine = work / "pristine"
    index = Index.create(pristine)
    index.add(
        Document(f"d{i}", f"document {i}: backup restore agent license seats error code {i % 7}")
        for i in range(40)
    )
    before = results(index)
    generation = json.loads((pristine / "blendrank.json").read_text())["generation"]
    gen = f"gen-{generation:06d}"
    files = sorted(
        p.relative_to(pristine / gen) for p in (pristine / gen).rglob("*") if p.is_file()
    )
    rng = random.Random(0)
    rows = []
    for file in files:
        for name, damage in DAMAGES.items():
            case = work / f"case-{len(rows)}"
            shutil.copytree(pristine, case)
            try:
                damage(case / gen / file, rng)
            except NotImplementedError:
                shutil.rmtree(case)
                continue
            rows.append({"file": str(file), "damage": name, "outcome": outcome(case, before)})
            shutil.rmtree(case)
    counts = Counter(r["outcome"] for r in rows)
    save_json("corruption", {"machine": machine(), "cases": rows, "counts": dict(counts)})
    by_damage: dict[str, Counter] = {}
    for r in rows:
        by_damage.setdefault(r["damage"], Counter())[r["outcome"]] += 1
    kinds = sorted(counts)
    table = [
        "| damage | files | " + " | ".join(kinds) + " |",
        "|---|---:|" + "---:|" * len(kinds),
        *(
            f"| {damage} | {sum(c.values())} | " + " | ".join(str(c[k]) for k in kinds) + " |"
            for damage, c in by_damage.items()
        ),
        f"| **all** | {len(rows)} | " + " | ".join(f"**{counts[k]}**" for k in kinds) + " |",
    ]
    body = "\n".join(
        [
            "## Damaged index files",
            "",
            f"Every file of one generation ({len(files)} files: documents, chunks, vectors, "
            "BM25 arrays and vocabulary, metadata) damaged in each way below, one case at a "
            'time, then opened and searched. "opens; verify names it": sizes and shapes '
            "agree, so the index opens (checksums are not read on open, which would read "
            "every byte), and `blendrank verify DIR` names the file by its checksum; "
            '"unchanged": the damage did not change any result (e.g. bytes appended past '
            'the end of a .npy). "silent" would be different results with no error.',
            "",
            *table,
            "",
            f"Machine: {machine()}. Reproduce: `python bench/corruption.py`.",
        ]
    )
    write_section_in(REPO / "docs" / "robustness.md", "corruption", body, "# Robustness\n")
    print(body)
    for r in rows:
        if r["outcome"].startswith(("raw", "silent", "error without")):
            print("  ", r)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
