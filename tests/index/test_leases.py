"""Readers pin the generation they opened: commits never remove a generation an open index
uses (before: a writer removed every generation older than the previous one, so a reader
slower than two commits lost its files), and remove it once its last reader is gone."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys

from blendrank import Document, Index
from blendrank.index.store import LEASE, generation_name

READER = """
import sys
from blendrank import Index
index = Index.open(sys.argv[1])
print(index.info()["generation"], flush=True)
sys.stdin.readline()
print(len(index.verify()), len(index.search("agents", mode="bm25")), flush=True)
"""


def _commit(index: Index, n: int) -> None:
    """``n`` commits (new documents each time: an unchanged one commits nothing)."""
    for _ in range(n):
        i = next(_COMMITS)
        index.add([Document(f"w{i}", f"commit {i} about agents")])


_COMMITS = itertools.count()


def _generations(path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.name.startswith("gen-"))


def _new_index(tmp_path):
    path = tmp_path / "idx"
    Index.create(path, embedder=None).add([Document("a", "agents everywhere")])
    return path


def test_commits_never_remove_a_generation_an_open_index_uses(tmp_path):
    path = _new_index(tmp_path)
    reader = Index.open(path)
    pinned = generation_name(reader.info()["generation"])
    _commit(Index.open(path), 5)
    assert pinned in _generations(path)
    assert reader.verify() == []  # every file it opened is still there, unchanged
    assert [h.doc_id for h in reader.search("agents", mode="bm25")] == ["a"]
    reader.close()
    _commit(Index.open(path), 1)
    assert pinned not in _generations(path)
    assert len(_generations(path)) == 2  # the current one and the previous one


def test_dropping_the_last_reference_releases_the_generation(tmp_path):
    path = _new_index(tmp_path)
    reader = Index.open(path)
    pinned = generation_name(reader.info()["generation"])
    snapshot = __import__("copy").copy(reader)  # what the service hands to searches
    del reader
    _commit(Index.open(path), 3)
    assert pinned in _generations(path)  # the copy still uses it
    del snapshot
    _commit(Index.open(path), 1)
    assert pinned not in _generations(path)


def test_a_writer_moves_its_own_lease_to_each_generation_it_commits(tmp_path):
    path = _new_index(tmp_path)
    writer = Index.open(path)
    _commit(writer, 6)
    assert len(_generations(path)) == 2
    assert writer.verify() == []


def test_a_reader_in_another_process_pins_its_generation_until_it_is_killed(tmp_path):
    path = _new_index(tmp_path)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pinned = generation_name(int(reader.stdout.readline()))
        _commit(Index.open(path), 4)
        assert pinned in _generations(path)
        reader.send_signal(signal.SIGKILL)  # the kernel drops the lock with the process
        reader.wait(timeout=30)
    finally:
        reader.kill()
    _commit(Index.open(path), 1)
    assert pinned not in _generations(path)


def test_a_reader_in_another_process_reads_its_generation_whole_after_commits(tmp_path):
    path = _new_index(tmp_path)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = "", None
    try:
        reader.stdout.readline()
        _commit(Index.open(path), 4)
        out, _ = reader.communicate("go\n", timeout=60)
    finally:
        reader.kill()
    assert out.split() == ["0", "1"]  # verify found no problem; the search found "a"


def test_a_generation_written_before_leases_opens_and_gets_one(tmp_path):
    path = _new_index(tmp_path)
    for lease in path.glob(f"gen-*/{LEASE}"):
        lease.unlink()  # as an index written by an earlier release looks
    index = Index.open(path)
    assert index.verify() == []
    assert (path / generation_name(index.info()["generation"]) / LEASE).exists()


def test_a_read_only_index_opens_without_a_lease_file(small_disk):
    path = _new_index(small_disk)
    for lease in path.glob(f"gen-*/{LEASE}"):
        lease.unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    index = Index.open(path)
    assert [h.doc_id for h in index.search("agents", mode="bm25")] == ["a"]
    assert index.verify() == []
    assert not os.access(path, os.W_OK) or not list(path.glob(f"gen-*/{LEASE}"))
