"""What every engine store must do alike (Milvus embedded and as a server, Qdrant's local
mode and Qdrant Edge): the embedded index's write semantics, blendrank's filters with
their exact semantics, values never spliced into an expression, the same dense results
on the same vectors."""

from __future__ import annotations

import random

import pytest

from blendrank import Document, Index
from blendrank.backends import connect
from blendrank.filter import compile_filter

TEXTS = [
    "Cats purr by vibrating their larynx.",
    "Dogs bark at strangers and at the mail carrier.",
    "The stock market closed lower on Friday.",
    "Kittens purr while nursing and cats purr when content.",
    "A recipe for bread: flour, water, salt and yeast.",
    "Lions are big cats that roar rather than purr.",
]
SETTINGS = {"chunk_size": 16, "chunk_overlap": 4}


def _docs() -> list[Document]:
    return [
        Document(
            f"d{i}",
            text,
            metadata={"section": "pets" if i % 2 == 0 else "other", "n": i, "tags": ["t", f"t{i}"]},
        )
        for i, text in enumerate(TEXTS)
    ]


@pytest.fixture
def store(store_uri):
    kb = connect(store_uri, create=True, **SETTINGS)
    kb.add(_docs())
    yield kb
    kb.close()


def test_writes_have_the_embedded_index_semantics(store):
    assert len(store) == 6
    assert store.add(_docs()) == {"added": 0, "updated": 0, "unchanged": 6, "chunks": 0}
    changed = _docs()
    changed[0] = Document("d0", changed[0].text, metadata={"section": "new"})  # metadata only
    changed[1] = Document("d1", "Dogs howl at the moon.")  # text: re-chunked, re-embedded
    counts = store.add(changed + [Document("d9", "A brand new document about cats.")])
    assert counts["added"] == 1 and counts["updated"] == 2 and counts["unchanged"] == 4
    assert store.get("d0").metadata == {"section": "new"}
    assert store.get("d1").text == "Dogs howl at the moon."
    hits = store.search("dogs", mode="bm25", top_k=10)
    assert [h.text for h in hits if h.doc_id == "d1"] == ["Dogs howl at the moon."]
    assert store.delete(["d1", "not-there"]) == 1 and len(store) == 6
    for mode in ("bm25", "dense", "hybrid"):  # gone from every retriever
        assert "d1" not in {h.doc_id for h in store.search("dogs howl", mode=mode, top_k=10)}
    assert store.get("d1") is None


def test_filters_and_per_document_results(store):
    hits = store.search("cats purr", filter={"section": "pets", "n": {"gte": 2}}, top_k=10)
    assert {h.doc_id for h in hits} == {"d2", "d4"}
    assert all("bm25" in h.scores or "dense" in h.scores for h in hits)
    per_doc = store.search("cats purr", per="document", top_k=10)
    assert len({h.doc_id for h in per_doc}) == len(per_doc)
    assert store.search("cats", filter={"tags": "t3"}, top_k=10)[0].doc_id == "d3"


def test_a_value_built_to_escape_an_expression_matches_only_itself(store_uri):
    kb = connect(store_uri, create=True, embedder=None, **SETTINGS)
    hostile = 'x" or 1==1 or "'
    kb.add(
        [
            Document('evil"id\\', "cats purr", metadata={"section": hostile}),
            Document("plain", "cats purr", metadata={"section": "pets"}),
        ]
    )
    assert [h.doc_id for h in kb.search("cats", mode="bm25", filter={"section": hostile})] == [
        'evil"id\\'
    ]
    assert kb.search("cats", mode="bm25", filter={"section": 'pets" or "1"=="1'}) == []
    assert kb.get('evil"id\\').metadata == {"section": hostile}
    assert kb.delete(['evil"id\\']) == 1 and [h.doc_id for h in kb.search("cats", mode="bm25")] == [
        "plain"
    ]


def test_results_match_the_embedded_index_on_the_same_vectors(store, tmp_path):
    embedded = Index.create(tmp_path / "embedded", **SETTINGS)
    embedded.add(_docs())
    ours = store.search("why do cats purr", mode="dense", top_k=5)
    theirs = embedded.search("why do cats purr", mode="dense", top_k=5)
    assert [h.id for h in ours] == [h.id for h in theirs]
    assert [h.score for h in ours] == pytest.approx([h.score for h in theirs], abs=1e-5)


def test_deleting_a_document_whose_write_was_cut_short_removes_its_chunks(store_uri):
    kb = connect(store_uri, create=True, embedder=None, **SETTINGS)
    rows = kb._chunk_rows([Document("half", "cats purr loudly")], progress=False)
    kb._store_chunks(rows)  # the chunks landed, the document record did not
    assert kb.get("half") is None and kb.search("cats", mode="bm25")
    assert kb.delete(["half"]) == 0  # it was not a whole document ...
    assert kb.search("cats", mode="bm25") == []  # ... but nothing of it stays searchable


def test_the_engine_answers_every_filter_as_blendrank_does(store_uri):
    rng = random.Random(7)
    values = [
        1,
        2,
        3,
        2.5,
        True,
        False,
        "a",
        "b",
        "2025-01-01",
        "2025-01-01T00:00:00Z",
        "2024-06-30",
        ["a", "b"],
        [1, 3],
        [],
    ]
    docs = []
    for i in range(40):
        metadata = {f: rng.choice(values) for f in ("f", "g", "date") if rng.random() < 0.7}
        docs.append(Document(f"d{i}", f"text {i}", metadata=metadata))
    kb = connect(store_uri, create=True, embedder=None, chunk_size=16, chunk_overlap=0)
    kb.add(docs)
    specs = [
        {"f": 2},
        {"f": {"ne": 2}},
        {"f": {"in": ["a", 3]}},
        {"f": {"nin": ["a", 1]}},
        {"f": {"gt": 1.5}},
        {"f": {"lte": 2}},
        {"not": {"f": {"gte": 2}}},
        {"date": {"gte": "2025-01-01"}},
        {"date": "2025-01-01"},
        {"date": {"lt": "2025-01-01"}},
        {"g": {"exists": False}},
        {"g": {"exists": True}, "f": {"ne": "a"}},
        {"or": [{"f": True}, {"g": {"in": [1, "b"]}}]},
        {"not": {"or": [{"f": 1}, {"g": 1}]}},
        {"and": [{"not": {"f": {"lt": 3}}}, {"date": {"exists": True}}]},
        {"f": []},
        {"f": {"lt": float("inf")}},
        {"not": {"f": {"gt": float("-inf")}}},
    ]
    for spec in specs:
        try:
            compiled = compile_filter(spec)
        except Exception:  # noqa: BLE001 - invalid specs are not what this checks
            continue
        expected = {d.id for d in docs if compiled.matches(d.metadata)}
        hits = kb.search("text", mode="bm25", filter=spec, top_k=100)
        assert {h.doc_id for h in hits} == expected, spec


def test_results_are_isolated_from_the_stored_state(store):
    hits = store.search("cats purr", filter={"tags": "t0"}, top_k=3)
    hits[0].metadata["section"] = "changed"
    hits[0].metadata["tags"].append("x")
    document = store.get("d0")
    document.metadata["section"] = "changed too"
    again = store.search("cats purr", filter={"tags": "t0"}, top_k=3)
    assert again[0].metadata == {"section": "pets", "n": 0, "tags": ["t", "t0"]}
    assert store.get("d0").metadata["section"] == "pets"


def test_a_client_you_made_is_used_and_left_open(request, tmp_path):
    """connect(client, collection=...) / connect(conn, table=...) use the caller's client;
    closing the store leaves it open for the caller."""
    made = []
    try:
        from qdrant_client import QdrantClient

        made.append(("qdrant", QdrantClient(path=str(tmp_path / "q")), {"collection": "kb"}))
    except ImportError:
        pass
    try:
        import psycopg

        server = request.getfixturevalue("postgres_server")
        conn = psycopg.connect(server.uri("x").split("?")[0], autocommit=True)
        made.append(("postgres", conn, {"table": "borrowed_kb"}))
    except (ImportError, pytest.skip.Exception):
        pass
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pymilvus import MilvusClient

            made.append(("milvus", MilvusClient(str(tmp_path / "m.db")), {"collection": "kb"}))
    except ImportError:
        pass
    if not made:
        pytest.skip("no engine client library is installed (extras milvus, qdrant, postgres)")
    for _name, client, where in made:
        kb = connect(client, create=True, embedder=None, chunk_size=16, chunk_overlap=4, **where)
        kb.add(_docs())
        assert [h.doc_id for h in kb.search("bread yeast", mode="bm25", top_k=1)] == ["d4"]
        kb.close()
        again = connect(client, **where)  # the client is still open: the store reopens
        assert len(again) == 6
        again.close()
        client.close()
