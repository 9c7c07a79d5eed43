"""Contract: mutating any object the index hands out never changes the index.

Documents are frozen dataclasses, but their metadata dicts are not. Every way a caller
can get one (search hits in every mode and grouping, ``get``, ``documents()``, the
Document passed to ``add``) is edited here, then the index is checked in memory and on
disk after an unrelated write.
"""

from __future__ import annotations

import json

import pytest

from blendrank import Document, Index

META = {"product_line": "enterprise", "tags": ["linux", "agent"], "owner.team": "ops"}


def _vandalise(metadata: dict) -> None:
    metadata["product_line"] = "HACKED"
    metadata["tags"].append("HACKED")  # a list inside the dict: a shallow copy is not enough
    metadata["owner.team"] = "HACKED"
    metadata["new_key"] = 1


def _docs() -> list[Document]:
    return [
        Document("a", "Install the agent on Linux with the package manager.", "Linux", _meta()),
        Document("b", "Install the agent on Windows with the MSI installer.", "Windows", _meta()),
    ]


def _meta() -> dict:
    return json.loads(json.dumps(META))


@pytest.fixture
def index(tmp_path) -> Index:
    index = Index.create(tmp_path / "idx", embedder=None)
    index.add(_docs())
    return index


def _assert_untouched(index: Index) -> None:
    for doc_id in ("a", "b"):
        assert index.get(doc_id).metadata == META
    assert index.search("agent", top_k=5, mode="bm25", filter={"product_line": "enterprise"})
    assert not index.search("agent", top_k=5, mode="bm25", filter={"product_line": "HACKED"})


@pytest.mark.parametrize("per", ["chunk", "document"])
def test_editing_search_hits_leaves_the_index_alone(index, per):
    for hit in index.search("install agent", top_k=5, mode="bm25", per=per):
        _vandalise(hit.metadata)
        hit.scores["bm25"] = -1.0
    _assert_untouched(index)
    again = index.search("install agent", top_k=5, mode="bm25", per=per)
    assert all(h.scores["bm25"] > 0 for h in again)


def test_editing_get_and_documents_leaves_the_index_alone(index):
    _vandalise(index.get("a").metadata)
    for doc in index.documents():
        _vandalise(doc.metadata)
    _assert_untouched(index)


def test_editing_the_added_document_afterwards_leaves_the_index_alone(tmp_path):
    index = Index.create(tmp_path / "idx", embedder=None)
    docs = _docs()
    index.add(docs)
    for doc in docs:
        _vandalise(doc.metadata)
    _assert_untouched(index)


def test_an_edited_result_is_not_written_by_the_next_unrelated_add(index):
    # The defect this guards against: a Hit's metadata *was* the stored dict, so editing
    # it and then adding any document wrote the edit to disk.
    _vandalise(index.search("linux", top_k=1, mode="bm25")[0].metadata)
    _vandalise(index.get("b").metadata)
    index.add([Document("c", "An unrelated note about backups.")])
    _assert_untouched(index)
    reopened = Index.open(index.path)
    _assert_untouched(reopened)
    assert reopened.get("c").metadata == {}


def test_dense_hits_are_isolated_too(tmp_path):
    index = Index.create(tmp_path / "idx")  # the default embedder: hybrid and dense modes
    index.add(_docs())
    for mode in ("hybrid", "dense"):
        for hit in index.search("agent installation", top_k=2, mode=mode):
            _vandalise(hit.metadata)
    _assert_untouched(index)
