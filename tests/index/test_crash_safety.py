"""A writer killed at any moment leaves the previous or the new index, never a broken one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from blendrank import Document, Index

WRITER = textwrap.dedent(
    """
    import sys
    from blendrank import Document, Index
    index = Index.open(sys.argv[1])
    start = len(index)
    for batch in range(start // 10, 10_000):
        docs = [Document(f"d{batch}-{i}", f"batch {batch} text {i} " * 20) for i in range(10)]
        index.add(docs)
        print(len(index), flush=True)
    """
)


def _check_consistent(path: Path) -> int:
    index = Index.open(path)
    n = len(index)
    assert n % 10 == 0, f"partial batch visible: {n} documents"
    assert index.info()["chunks"] == n
    if n:
        last = f"d{n // 10 - 1}-9"
        assert index.get(last) is not None
        hits = index.search(f"batch {n // 10 - 1} text", top_k=5, mode="bm25")
        assert hits and all(h.doc_id in index for h in hits)
    return n


@pytest.mark.parametrize("point", ["before-rename", "before-manifest", "after-manifest"])
def test_crash_at_each_commit_step_keeps_old_or_new(tmp_path: Path, point: str) -> None:
    path = tmp_path / "idx"
    index = Index.create(path, embedder=None)
    index.add([Document(f"d0-{i}", f"batch 0 text number {i}") for i in range(10)])
    env = {**os.environ, "BLENDRANK_CRASH_AT": point}
    proc = subprocess.run([sys.executable, "-c", WRITER, str(path)], env=env, capture_output=True)
    assert proc.returncode == 137, proc.stderr.decode()
    n = _check_consistent(path)
    # before the manifest is replaced the old state is current; after, the new one
    assert n == (20 if point == "after-manifest" else 10)
    # the next writer cleans up and carries on
    Index.open(path).add([Document("late", "written after the crash")])
    assert len(Index.open(path)) == n + 1
    leftovers = [p.name for p in path.iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_kill_9_at_random_moments(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    Index.create(path, embedder=None)
    rng = random.Random(7)
    seen = 0
    for _ in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        proc.stdout.readline()  # at least one commit happened in this process
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        n = _check_consistent(path)
        assert n >= seen
        seen = n
    assert seen >= 60


def test_second_writer_waits_for_the_lock(tmp_path: Path) -> None:
    from blendrank.errors import IndexLockedError
    from blendrank.index.store import IndexStore

    Index.create(tmp_path / "idx", embedder=None)
    store = IndexStore(tmp_path / "idx")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import time
            from blendrank.index.store import IndexStore
            with IndexStore({str(tmp_path / "idx")!r}).write_lock():
                print("locked", flush=True)
                time.sleep(30)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexLockedError, match="being written by another process"):
            with store.write_lock(timeout=0.3):
                pass
    finally:
        holder.kill()
        holder.wait()
    with store.write_lock(timeout=5):  # released when the holder died
        pass
