"""The Milvus backend on real Milvus (milvus-lite embedded and the same core as a loopback
server): the embedded index's write semantics, blendrank's filters with their exact
semantics, values never spliced into an expression, both kinds of hybrid."""

from __future__ import annotations

import itertools
import uuid

import pytest

from blendrank import Document
from blendrank.backends import connect
from blendrank.errors import IndexExistsError, IndexNotFoundError, InvalidInputError
from blendrank.types import Query

TEXTS = [
    "Cats purr by vibrating their larynx.",
    "Dogs bark at strangers and at the mail carrier.",
    "The stock market closed lower on Friday.",
    "Kittens purr while nursing and cats purr when content.",
    "A recipe for bread: flour, water, salt and yeast.",
    "Lions are big cats that roar rather than purr.",
]
SETTINGS = {"chunk_size": 16, "chunk_overlap": 4}
_names = itertools.count()


def _docs() -> list[Document]:
    return [
        Document(
            f"d{i}",
            text,
            metadata={"section": "pets" if i % 2 == 0 else "other", "n": i, "tags": ["t", f"t{i}"]},
        )
        for i, text in enumerate(TEXTS)
    ]


@pytest.fixture(params=["lite", "server"])
def uri(request, tmp_path) -> str:
    if request.param == "lite":
        return request.getfixturevalue("milvus_lite_uri")
    server = request.getfixturevalue("milvus_server")
    return f"{server}/kb_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def store(uri):
    kb = connect(uri, create=True, **SETTINGS)
    kb.add(_docs())
    yield kb
    kb.close()


def test_a_long_document_round_trips_in_parts(uri):
    store = connect(uri, create=True, embedder=None, chunk_size=512, chunk_overlap=0)
    long = "".join(f"word{i} \u00e9\u6f22 " for i in range(5000))  # 3 parts of 16,000 chars
    store.add([Document("long", long, "A title")])
    assert store.get("long").text == long
    store.add([Document("long", "short now")])
    assert store.get("long").text == "short now"
    assert [h.doc_id for h in store.search("short", mode="bm25", top_k=3)] == ["long"]


def test_engine_side_hybrid_fuses_in_milvus(store):
    retriever = store.engine_hybrid("rrf", rrf_k=60)
    ranking = retriever.retrieve(Query("cats purr"), 3)
    assert len(ranking) == 3 and ranking.scores.tolist() == sorted(ranking.scores, reverse=True)
    weighted = store.engine_hybrid("weighted", weights=(0.3, 0.7)).retrieve(Query("cats"), 2)
    assert len(weighted) == 2


def test_clear_errors(uri, milvus_lite_uri):
    with pytest.raises(IndexNotFoundError, match="no blendrank store"):
        connect(uri)
    connect(uri, create=True, embedder=None)
    from blendrank.backends.milvus import MilvusIndex

    with pytest.raises(IndexExistsError):
        MilvusIndex.create(uri, embedder=None)
    with pytest.raises(InvalidInputError, match="not a Milvus URI"):
        MilvusIndex.create("milvus+what:x")
    kb = connect(uri)
    with pytest.raises(InvalidInputError, match="has no retriever 'dense'; it has bm25"):
        kb.search("cats", mode="dense")
