"""Segments: writes add a segment, deletes tombstone, merges join; results equal one
index rebuilt from scratch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from blendrank import Document, Index
from blendrank.errors import IndexFormatError
from blendrank.index.bm25 import TermPostings, bm25_idf

QUERIES = ["disk quota", "cats and dogs", "error 4029", "running shoes", "pasta", "zebra"]


def _corpus(n: int, tag: str = "") -> list[Document]:
    words = ["disk", "quota", "cats", "dogs", "error", "4029", "running", "shoes", "pasta"]
    docs = []
    for i in range(n):
        text = " ".join(words[(i * 7 + j * 3) % len(words)] for j in range(3 + i % 9))
        docs.append(Document(f"{tag}d{i}", f"{text} {tag} number {i}", metadata={"n": i % 4}))
    return docs


def _results(index: Index, **options) -> list[list[tuple[str, float]]]:
    return [[(h.id, h.score) for h in index.search(q, top_k=8, **options)] for q in QUERIES]


def _written_in_steps(path: Path, embedder=None, retrievers=None) -> tuple[Index, list[Document]]:
    """An index written by many adds, updates and deletes; and its final documents."""
    index = Index.create(path, embedder=embedder, retrievers=retrievers)
    docs = {d.id: d for d in _corpus(30)}
    index.add(list(docs.values())[:12])
    index.add(list(docs.values())[12:30])
    gone = ["d3", "d17", "d25"]
    index.delete(gone)
    for g in gone:
        del docs[g]
    changed = [Document("d5", "pasta with cats", metadata={"n": 9})]  # new text
    moved = [Document("d6", docs["d6"].text, metadata={"n": 7})]  # metadata only
    index.add(changed + moved)
    docs.update({d.id: d for d in changed + moved})
    more = _corpus(6, tag="x")
    index.add(more)
    docs.update({d.id: d for d in more})
    return index, list(docs.values())


def test_bm25_and_bm42_scores_equal_a_rebuilt_index(tmp_path: Path) -> None:
    index, final = _written_in_steps(tmp_path / "steps", retrievers=["bm42"])
    assert index.info()["segments"] > 1 and index.info()["deleted_documents"] > 0
    fresh = Index.create(tmp_path / "fresh", embedder=None, retrievers=["bm42"])
    fresh.add(final)
    assert len(index) == len(fresh) == len(final)
    for options in ({"mode": "bm25"}, {"retrievers": ["bm42"]}, {"retrievers": ["bm25", "bm42"]}):
        assert _results(index, **options) == _results(fresh, **options)  # exact scores
    filtered = {"mode": "bm25", "filter": {"n": {"in": [1, 7]}}}
    assert _results(index, **filtered) == _results(fresh, **filtered)
    # the same after a merge, and after reopening
    index.optimize()
    assert index.info()["segments"] == 1 and index.info()["deleted_documents"] == 0
    assert _results(Index.open(index.path), mode="bm25") == _results(fresh, mode="bm25")


def test_dense_results_equal_a_rebuilt_index(tmp_path: Path) -> None:
    index, final = _written_in_steps(tmp_path / "steps", embedder="all-MiniLM-L6-v2")
    fresh = Index.create(tmp_path / "fresh")
    fresh.add(final)
    pairs = zip(_results(index, mode="dense"), _results(fresh, mode="dense"), strict=True)
    for mine, theirs in pairs:
        assert [i for i, _ in mine] == [i for i, _ in theirs]
        np.testing.assert_allclose([s for _, s in mine], [s for _, s in theirs], atol=1e-6)
    ids = [f"d{i}#0" for i in (0, 6, 29)]
    np.testing.assert_allclose(index.chunk_vectors(ids), fresh.chunk_vectors(ids), atol=1e-6)


def test_bm25_matches_the_formula_by_hand() -> None:
    postings = TermPostings.build([["cat", "cat", "mat"], ["dog"], ["cat", "dog", "x", "y"]])
    rows, codes = postings.postings("cat")
    assert rows.tolist() == [0, 2] and postings.pair_tf[codes].tolist() == [2, 1]
    assert postings.pair_len[codes].tolist() == [3, 4]
    assert postings.lengths.tolist() == [3, 1, 4]
    # N = 3, df(cat) = 2, avgdl = 8/3; row 0: tf 2, |d| 3
    k1, b = 1.5, 0.75
    idf = bm25_idf(3, 2)
    expected = idf * 2 / (2 + k1 * (1 - b + b * 3 / (8 / 3)))
    assert idf == pytest.approx(np.log(1 + 1.5 / 2.5))
    index_expected = round(expected, 5)
    from blendrank.index.segments import MultiBM25, Segment, SegmentView
    from blendrank.index.state import IndexState

    state = IndexState(
        [Document("a", "x"), Document("b", "x"), Document("c", "x")],
        doc_rows=np.arange(3, dtype=np.int32),
        chunk_n=np.zeros(3, np.int32),
        chunk_start=np.zeros(3, np.int64),
        chunk_end=np.ones(3, np.int64),
    )
    view = SegmentView([Segment("s", state, postings, None, {}, np.zeros(3, bool))])
    assert round(float(MultiBM25(view, k1, b).scores(["cat"])[0]), 5) == index_expected


def test_bm25_agrees_with_bm25s() -> None:
    bm25s = pytest.importorskip("bm25s")
    tokens = [d.text.split() for d in _corpus(40)]
    model = bm25s.BM25(k1=1.5, b=0.75)
    model.index(tokens, show_progress=False)
    from blendrank.index.segments import MultiBM25, Segment, SegmentView
    from blendrank.index.state import IndexState

    n = len(tokens)
    state = IndexState(
        [Document(f"d{i}", "x") for i in range(n)],
        doc_rows=np.arange(n, dtype=np.int32),
        chunk_n=np.zeros(n, np.int32),
        chunk_start=np.zeros(n, np.int64),
        chunk_end=np.ones(n, np.int64),
    )
    segment = Segment("s", state, TermPostings.build(tokens), None, {}, np.zeros(n, bool))
    mine = MultiBM25(SegmentView([segment]), 1.5, 0.75).scores(["cats", "quota"])
    ids = [model.vocab_dict[t] for t in ["cats", "quota"]]
    np.testing.assert_allclose(mine, model.get_scores_from_ids(ids), rtol=1e-5)


def test_writes_add_segments_and_merge_when_they_pile_up(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx", embedder=None)
    counts = []
    for batch in range(12):
        index.add([Document(f"b{batch}-{i}", f"batch {batch} word{i}") for i in range(3)])
        counts.append(index.info()["segments"])
    assert max(counts) <= 8 and len(index) == 36
    assert index.search("batch 0 word1", top_k=1, mode="bm25")[0].doc_id == "b0-1"
    assert index.verify() == []
    # a write of nothing new commits nothing
    generation = index.info()["generation"]
    assert index.add([Document("b0-0", "batch 0 word0")])["unchanged"] == 1
    assert index.info()["generation"] == generation


def test_delete_only_writes_a_tombstone(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx", embedder=None)
    index.add(_corpus(20))
    folder = Path(index.path) / f"gen-{index.info()['generation']:06d}"
    before = (folder / "segments").stat().st_ino
    assert index.delete(["d1", "d2", "nope"]) == 2
    new = Path(index.path) / f"gen-{index.info()['generation']:06d}"
    tombstones = list((new / "tombstones").glob("*.npy"))
    assert len(tombstones) == 1 and sorted(np.load(tombstones[0]).tolist()) == [1, 2]
    # the segment's files are the same files (hard links), not copies
    segment = next((new / "segments").iterdir())
    old_segment = folder / "segments" / segment.name
    if old_segment.exists():
        assert (segment / "chunks.npz").stat().st_ino == (old_segment / "chunks.npz").stat().st_ino
    assert before  # the old generation was a folder of segments
    assert "d1" not in index and index.get("d2") is None and len(index) == 18
    assert all(h.doc_id not in ("d1", "d2") for h in index.search("disk", top_k=20, mode="bm25"))
    # deleting every document of a segment drops it
    index.delete([d.id for d in index.documents()])
    assert index.info()["segments"] == 0 and len(index) == 0
    assert index.search("disk", mode="bm25") == []


def _as_format_1(path: Path) -> None:
    """Rewrite an index as blendrank wrote it before segments (format 1): everything in
    the generation folder, BM25 as bm25s files."""
    import bm25s

    manifest = json.loads((path / "blendrank.json").read_text())
    gen = path / f"gen-{manifest['generation']:06d}"
    (seg,) = manifest["segments"]
    for item in (gen / "segments" / seg["name"]).iterdir():
        if item.name != "bm25":
            shutil.move(str(item), gen / item.name)
    shutil.rmtree(gen / "segments")
    shutil.rmtree(gen / "tombstones", ignore_errors=True)
    model = bm25s.BM25()
    model.index([["some"], ["tokens"]], show_progress=False)
    model.save(str(gen / "bm25"))
    (gen / "bm25" / "blendrank_bm25.json").write_text('{"n_rows": 2, "k1": 1.5, "b": 0.75}')
    manifest["format_version"] = 1
    for key in ("segments", "next_segment", "files"):
        manifest.pop(key)
    (path / "blendrank.json").write_text(json.dumps(manifest))


def test_format_1_index_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    index = Index.create(path, embedder=None, retrievers=["bm42"])
    index.add(_corpus(15))
    expected = _results(index, mode="bm25")
    expected_bm42 = _results(index, retrievers=["bm42"])
    _as_format_1(path)
    upgraded = Index.open(path)
    info = upgraded.info()
    assert info["format_version"] == 2 and info["segments"] == 1
    assert _results(upgraded, mode="bm25") == expected
    assert _results(upgraded, retrievers=["bm42"]) == expected_bm42
    assert upgraded.verify() == []
    upgraded.add([Document("new", "pasta")])
    assert len(Index.open(path)) == 16


def test_format_1_index_in_a_read_only_folder_says_what_to_do(tmp_path: Path, monkeypatch) -> None:
    import errno

    from blendrank.index.store import IndexStore

    path = tmp_path / "idx"
    Index.create(path, embedder=None).add(_corpus(3))
    _as_format_1(path)

    # a folder without write access, simulated (the tests run as root, who may write
    # anywhere): creating the lock file fails with EACCES
    def read_only(self, timeout=10.0):
        raise PermissionError(errno.EACCES, "Permission denied", str(self.root / "LOCK"))

    monkeypatch.setattr(IndexStore, "write_lock", read_only)
    with pytest.raises(IndexFormatError, match="needs write access"):
        Index.open(path)
    monkeypatch.undo()
    assert Index.open(path).info()["format_version"] == 2  # writable again: upgraded


MERGER = textwrap.dedent(
    """
    import sys
    from blendrank import Document, Index
    index = Index.open(sys.argv[1])
    index.add([Document("late", "written in a second segment")])
    index.optimize()
    """
)


@pytest.mark.parametrize("point", ["before-rename", "before-manifest", "after-manifest"])
def test_crash_during_a_merge_keeps_old_or_new(tmp_path: Path, point: str) -> None:
    path = tmp_path / "idx"
    index = Index.create(path, embedder=None)
    index.add(_corpus(10))
    env = {**os.environ, "BLENDRANK_CRASH_AT": f"merge:{point}"}
    proc = subprocess.run([sys.executable, "-c", MERGER, str(path)], env=env, capture_output=True)
    assert proc.returncode == 137, proc.stderr.decode()
    after = Index.open(path)
    assert len(after) == 11 and after.get("late") is not None  # the write was committed
    assert after.info()["segments"] == (1 if point == "after-manifest" else 2)
    assert after.verify() == []
    assert after.search("second segment", top_k=1, mode="bm25")[0].doc_id == "late"
    after.optimize()
    assert after.info()["segments"] == 1
    assert not [p for p in path.iterdir() if p.name.startswith(".tmp")]


def test_cli_optimize_merges_and_reports(tmp_path: Path, capsys) -> None:
    from blendrank.cli.main import main

    index = Index.create(tmp_path / "idx", embedder=None)
    index.add(_corpus(5))
    index.add(_corpus(5, tag="y"))
    index.delete(["d0"])
    assert main(["optimize", str(tmp_path / "idx"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["segments_before"] == 2 and result["segments"] == 1
    assert result["deleted_documents_dropped"] == 1
    reopened = Index.open(tmp_path / "idx")
    assert reopened.info()["segments"] == 1 and len(reopened) == 9


def test_a_retriever_added_by_another_writer_is_kept_up_to_date(tmp_path: Path) -> None:
    # found in review: a writer that opened the index before another one added a
    # retriever wrote segments without it under a manifest that listed it
    path = tmp_path / "idx"
    Index.create(path, embedder=None).add(_corpus(5))
    first, second = Index.open(path), Index.open(path)
    second.add_retriever("bm42")
    first.add([Document("late", "cats written by the first writer")])
    reopened = Index.open(path)
    assert reopened.verify() == [] and len(reopened) == 6
    assert reopened.search("cats written", top_k=1, retrievers=["bm42"])[0].doc_id == "late"
    second.drop_retriever("bm42")
    first.add([Document("later", "after the drop")])
    assert first.refresh() is False and "bm42" not in first.info()["retrievers"]
    assert Index.open(path).verify() == []


def test_phrase_ties_follow_chunk_ids_whatever_the_write_history(tmp_path: Path) -> None:
    docs = [Document("a", "dogs zebra"), Document("b", "dogs zebra"), Document("c", "cats dogs")]
    index = Index.create(tmp_path / "idx", embedder=None)
    index.add(docs)
    fresh = Index.create(tmp_path / "fresh", embedder=None)
    fresh.add(docs)
    index.add([Document("a", "dogs zebra", metadata={"moved": True})])  # a moves to the end
    ids = [h.doc_id for h in index.search("cats dogs", top_k=2, mode="bm25")]
    assert ids == [h.doc_id for h in fresh.search("cats dogs", top_k=2, mode="bm25")]
    assert ids == ["c", "a"]


def test_a_failed_automatic_merge_does_not_fail_the_committed_write(tmp_path, monkeypatch):
    import errno

    from blendrank.index import embedded

    index = Index.create(tmp_path / "idx", embedder=None)
    for i in range(embedded.MAX_SEGMENTS):
        index.add([Document(f"d{i}", f"document {i}")])

    def full_disk(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(embedded, "merge_segments", full_disk)  # a fault made on purpose
    with pytest.warns(UserWarning, match="the write was committed, but merging"):
        index.add([Document("last", "one more")])
    assert Index.open(index.path).get("last") is not None
    monkeypatch.undo()
    index.add([Document("next", "the next write merges")])
    assert index.info()["segments"] <= embedded.MAX_SEGMENTS
