"""The Qdrant backend: its BM25 is blendrank's BM25 (the same scores as the embedded index
where avgdl agrees, IDF following deletes), and qdrant-client's local mode (what the code
runs against a real server) answers as Qdrant's own Rust engine (Qdrant Edge) does on the
same data: rankings, scores, filters and engine-side fusion."""

from __future__ import annotations

import itertools
import math

import pytest

from blendrank import Document, Index
from blendrank.backends import connect
from blendrank.errors import IndexExistsError, IndexNotFoundError, InvalidInputError
from blendrank.evaluate.datasets import read_corpus, read_queries
from blendrank.types import Query

TEXTS = [
    "Cats purr by vibrating their larynx.",
    "Dogs bark at strangers and at the mail carrier; dogs bark a lot.",
    "The stock market closed lower on Friday.",
    "Kittens purr while nursing and cats purr when content.",
    "A recipe for bread: flour, water, salt and yeast.",
    "Lions are big cats that roar rather than purr.",
]


def _docs() -> list[Document]:
    return [Document(f"d{i}", t, metadata={"n": i}) for i, t in enumerate(TEXTS)]


def _bm25(store, text: str, k: int = 10) -> list[tuple[str, float]]:
    return [(h.id, h.score) for h in store.search(text, mode="bm25", top_k=k)]


@pytest.mark.parametrize("which", ["qdrant_local_uri", "qdrant_edge_uri"])
def test_bm25_scores_are_the_embedded_indexs(which, request, tmp_path):
    uri = request.getfixturevalue(which)
    store = connect(uri, create=True, embedder=None, chunk_size=32, chunk_overlap=0)
    embedded = Index.create(tmp_path / "embedded", embedder=None, chunk_size=32, chunk_overlap=0)
    store.add(_docs())  # one first batch: the stored avgdl is the corpus' own
    embedded.add(_docs())
    for text in ("cats purr", "dogs bark dogs", "bread with yeast", "why do lions roar"):
        ours, theirs = _bm25(store, text), _bm25(embedded, text)
        assert [i for i, _ in ours] == [i for i, _ in theirs], text
        assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-5)
    store.close()


B0 = {"embedder": None, "chunk_size": 32, "chunk_overlap": 0, "bm25_b": 0.0}  # no avgdl


def _write_delete_add(kb) -> None:
    kb.add(_docs())
    kb.delete(["d3", "d5"])
    kb.add([Document("x", "cats everywhere, cats at home")])


def test_idf_follows_deletes_and_additions_in_local_mode(qdrant_local_uri, tmp_path):
    store = connect(qdrant_local_uri, create=True, **B0)
    embedded = Index.create(tmp_path / "embedded", **B0)
    for kb in (store, embedded):
        _write_delete_add(kb)
    for text in ("cats purr", "cats"):
        ours, theirs = _bm25(store, text), _bm25(embedded, text)
        assert [i for i, _ in ours] == [i for i, _ in theirs]
        assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-5)
    store.close()


def test_the_engine_counts_deleted_chunks_in_its_idf_until_it_vacuums(qdrant_edge_uri):
    store = connect(qdrant_edge_uri, create=True, **B0)
    _write_delete_add(store)
    # Qdrant's IDF statistics still hold d3 and d5: N = 7 chunks, 4 with "cat"
    idf = math.log(1 + (7 - 4 + 0.5) / (4 + 0.5))
    assert dict(_bm25(store, "cats")) == pytest.approx(
        {"x#0": idf * 2 / (2 + 1.5), "d0#0": idf * 1 / (1 + 1.5)}, rel=1e-5
    )
    # past Qdrant's vacuum thresholds (20% of 1,000+ points deleted) optimize() drops them
    store.add([Document(f"f{i}", f"filler {i}") for i in range(1200)])
    store.delete([f"f{i}" for i in range(400)])
    assert store.optimize()
    n, df = 5 + 800, 2
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    assert dict(_bm25(store, "cats")) == pytest.approx(
        {"x#0": idf * 2 / (2 + 1.5), "d0#0": idf * 1 / (1 + 1.5)}, rel=1e-5
    )
    store.close()


@pytest.fixture(scope="module")
def scifact_pair(shared_data, tmp_path_factory):
    """The same 300 SciFact documents in qdrant-client's local mode and in Qdrant Edge,
    with the same vectors (the second store gets the first one's by migration)."""
    pytest.importorskip("qdrant_client", reason="qdrant-client (extra 'qdrant') is not installed")
    pytest.importorskip("qdrant_edge", reason="qdrant-edge-py (extra 'qdrant') is not installed")
    from blendrank.backends.migrate import migrate

    corpus = read_corpus(shared_data / "scifact" / "corpus.jsonl")
    docs = [
        Document(d.id, d.text, d.title, {"year": 2000 + i % 25, "odd": i % 2 == 1})
        for i, d in enumerate(itertools.islice(corpus.values(), 300))
    ]
    folder = tmp_path_factory.mktemp("qdrant-pair")
    local = connect(
        f"qdrant+local:{folder / 'local'}", create=True, chunk_size=128, chunk_overlap=32
    )
    local.add(docs)
    edge_uri = f"qdrant+edge:{folder / 'edge'}"
    assert migrate(local, edge_uri)["re_embedded"] == 0
    edge = connect(edge_uri)
    queries = list(read_queries(shared_data / "scifact" / "queries.jsonl").values())[:15]
    yield local, edge, queries
    local.close()
    edge.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "how",
    [
        {"mode": "bm25"},
        {"mode": "dense"},
        {"mode": "hybrid"},
        {"mode": "hybrid", "filter": {"year": {"gte": 2010}, "odd": True}},
        {"mode": "bm25", "filter": {"not": {"year": {"in": [2001, 2002, 2003]}}}},
    ],
    ids=["bm25", "dense", "hybrid", "filtered", "negated"],
)
def test_local_mode_answers_as_the_rust_engine(scifact_pair, how):
    local, edge, queries = scifact_pair
    for text in queries:
        ours = local.search(text, top_k=10, **how)
        theirs = edge.search(text, top_k=10, **how)
        assert [h.id for h in ours] == [h.id for h in theirs], text
        assert [h.score for h in ours] == pytest.approx([h.score for h in theirs], abs=1e-4)


@pytest.mark.parametrize("fusion", ["rrf", "dbsf"])
def test_engine_side_fusion_agrees_between_local_mode_and_the_engine(scifact_pair, fusion):
    local, edge, queries = scifact_pair
    for text in queries:
        query = Query(text, {"year": {"lt": 2020}})
        ours = local.engine_hybrid(fusion).retrieve(query, 10)
        theirs = edge.engine_hybrid(fusion).retrieve(query, 10)
        assert ours.scores.tolist() == pytest.approx(theirs.scores.tolist(), abs=1e-4), text
        assert all(h.metadata["year"] < 2020 for h in ours)
        # equal fused scores may come in either order; the sets of ids at each score agree
        assert sorted(h.id for h in ours) == sorted(h.id for h in theirs) or (
            ours.scores[-1] == pytest.approx(ours.scores[-2], abs=1e-9)
        )


@pytest.mark.parametrize("which", [0, 1], ids=["local", "edge"])
def test_qdrant_rrf_is_one_over_k_plus_the_rank_from_zero(scifact_pair, which):
    store = scifact_pair[which]
    for text in scifact_pair[2][:5]:
        query = Query(text)
        fused = store.engine_hybrid("rrf", rrf_k=60).retrieve(query, 10)
        lists = [store.retriever(mode).retrieve(query, 20) for mode in ("bm25", "dense")]
        for hit in fused.top(5):
            ranks = [r.ids.index(hit.id) for r in lists if hit.id in r.ids]  # from 0
            assert hit.score == pytest.approx(sum(1 / (60 + r) for r in ranks), abs=1e-6)


def test_clear_errors(qdrant_local_uri, qdrant_edge_uri):
    for uri in (qdrant_local_uri, qdrant_edge_uri):
        with pytest.raises(IndexNotFoundError, match="no blendrank store"):
            connect(uri)
        connect(uri, create=True, embedder=None).close()
        from blendrank.backends.qdrant import QdrantIndex

        with pytest.raises(IndexExistsError):
            QdrantIndex.create(uri, embedder=None)
        kb = connect(uri)
        with pytest.raises(InvalidInputError, match="has no retriever 'dense'; it has bm25"):
            kb.search("cats", mode="dense")
        with pytest.raises(InvalidInputError, match="needs a store with an embedder"):
            kb.engine_hybrid()
        kb.close()
    with pytest.raises(InvalidInputError, match="not a Qdrant URI"):
        QdrantIndex.create("qdrant+what:x")
    with pytest.raises(InvalidInputError, match="names no host"):
        QdrantIndex.open("qdrant://")


def test_a_collection_not_made_by_blendrank_is_refused(tmp_path):
    pytest.importorskip("qdrant_client", reason="qdrant-client (extra 'qdrant') is not installed")
    from qdrant_client import QdrantClient, models

    client = QdrantClient(path=str(tmp_path / "q"))
    client.create_collection("kb_docs", vectors_config={})
    client.upsert("kb_docs", [models.PointStruct(id=1, vector={}, payload={"x": 1})])
    client.close()
    with pytest.raises(IndexNotFoundError, match="not made by blendrank"):
        connect(f"qdrant+local:{tmp_path / 'q'}?collection=kb")


def test_an_unreachable_server_is_a_clear_error():
    pytest.importorskip("qdrant_client", reason="qdrant-client (extra 'qdrant') is not installed")
    import socket

    from blendrank.errors import RemoteModelError

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RemoteModelError, match="cannot use the Qdrant server"):
        connect(f"qdrant://127.0.0.1:{port}/kb", timeout=2)
