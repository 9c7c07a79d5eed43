"""The contract every first stage must honour, run against each retriever: the embedded
index's BM25 and dense retrievers, the hybrid of both (per chunk and per document, each
fusion method), and the same over every external backend (Milvus). Sorted by score then
id, ties by id, a filtered-out id never appears, k filled when enough match, results
isolated from the stored state, the caller's query never mutated."""

from __future__ import annotations

import copy

import pytest

from blendrank import Index
from blendrank.retrieve import HybridRetriever, Retriever
from blendrank.types import Document, Query, Ranking

TEXTS = [
    "Cats purr by vibrating their larynx.",
    "Dogs bark at strangers and at the mail carrier.",
    "The stock market closed lower on Friday.",
    "Cats purr by vibrating their larynx.",  # a duplicate: ties by id
    "Kittens purr while nursing and cats purr when content.",
    "A recipe for bread: flour, water, salt and yeast.",
    "Lions are big cats that roar rather than purr.",
    "The larynx of a cat vibrates at 25 to 150 Hz.",
]


def _documents() -> list[Document]:
    return [
        Document(
            f"d{i}",
            text,
            metadata={"section": "pets" if i % 2 == 0 else "other", "n": i, "tags": ["t"]},
        )
        for i, text in enumerate(TEXTS)
    ]


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Index:
    created = Index.create(
        tmp_path_factory.mktemp("contract") / "kb", chunk_size=16, chunk_overlap=4
    )
    created.add(_documents())
    return created


RETRIEVERS = {
    "bm25": lambda index: index.retriever("bm25"),
    "dense": lambda index: index.retriever("dense"),
    "hybrid_rrf": lambda index: index.retriever("hybrid"),
    "hybrid_linear": lambda index: index.retriever("hybrid", fusion="linear"),
    "hybrid_relative": lambda index: index.retriever("hybrid", fusion="relative_score"),
    "hybrid_dbsf": lambda index: index.retriever("hybrid", fusion="dbsf", weights={"dense": 2}),
    "hybrid_per_document": lambda index: index.retriever("hybrid", per="document"),
    "embedded_bm25": lambda index: index._retrievers["bm25"],
    "embedded_dense": lambda index: index._retrievers["dense"],
}
#: the same documents in Milvus (milvus-lite: the Milvus C++ core in process)
MILVUS_RETRIEVERS = {
    "milvus_bm25": lambda store: store.retriever("bm25"),
    "milvus_dense": lambda store: store.retriever("dense"),
    "milvus_hybrid_rrf": lambda store: store.retriever("hybrid"),
    "milvus_hybrid_per_document": lambda store: store.retriever("hybrid", per="document"),
    "milvus_engine_rrf": lambda store: store.engine_hybrid("rrf"),
}


@pytest.fixture(scope="module")
def milvus_store(tmp_path_factory):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("milvus_lite", reason="milvus-lite (extra 'milvus') is not installed")
    from blendrank.backends import connect

    folder = tmp_path_factory.mktemp("contract-milvus")
    store = connect(
        f"milvus+lite:{folder / 'kb.db'}?collection=kb",
        create=True,
        chunk_size=16,
        chunk_overlap=4,
    )
    store.add(_documents())
    yield store
    store.close()


#: the same documents in Qdrant: qdrant-client's local mode and Qdrant Edge (its engine)
QDRANT_RETRIEVERS = {
    f"{kind}_{name}": (kind, make)
    for kind in ("qdrant+local", "qdrant+edge")
    for name, make in {
        "bm25": lambda store: store.retriever("bm25"),
        "dense": lambda store: store.retriever("dense"),
        "hybrid_rrf": lambda store: store.retriever("hybrid"),
        "hybrid_per_document": lambda store: store.retriever("hybrid", per="document"),
        "engine_rrf": lambda store: store.engine_hybrid("rrf"),
    }.items()
}


@pytest.fixture(scope="module")
def qdrant_stores(tmp_path_factory):
    pytest.importorskip("qdrant_client", reason="qdrant-client (extra 'qdrant') is not installed")
    pytest.importorskip("qdrant_edge", reason="qdrant-edge-py (extra 'qdrant') is not installed")
    from blendrank.backends import connect

    folder = tmp_path_factory.mktemp("contract-qdrant")
    stores = {}
    for kind in ("qdrant+local", "qdrant+edge"):
        stores[kind] = connect(
            f"{kind}:{folder / kind}", create=True, chunk_size=16, chunk_overlap=4
        )
        stores[kind].add(_documents())
    yield stores
    for store in stores.values():
        store.close()


@pytest.fixture(params=sorted(RETRIEVERS) + sorted(MILVUS_RETRIEVERS) + sorted(QDRANT_RETRIEVERS))
def retriever(request, index) -> Retriever:
    if request.param in MILVUS_RETRIEVERS:
        return MILVUS_RETRIEVERS[request.param](request.getfixturevalue("milvus_store"))
    if request.param in QDRANT_RETRIEVERS:
        kind, make = QDRANT_RETRIEVERS[request.param]
        return make(request.getfixturevalue("qdrant_stores")[kind])
    return RETRIEVERS[request.param](index)


QUERY = "why do cats purr"


def test_is_a_retriever_with_a_name(retriever):
    assert isinstance(retriever, Retriever)
    assert isinstance(retriever.name, str) and retriever.name


def test_sorted_by_score_then_id(retriever):
    ranking = retriever.retrieve(Query(QUERY), 8)
    assert isinstance(ranking, Ranking)
    keys = [(-h.score, h.id) for h in ranking]
    assert keys == sorted(keys)
    assert list(ranking.ids) == [h.id for h in ranking]
    assert ranking.scores.tolist() == [h.score for h in ranking]


def test_equal_texts_tie_by_id(retriever):
    ranking = retriever.retrieve(Query("cats purr vibrating larynx"), 8)
    position = {h.doc_id: n for n, h in enumerate(ranking)}
    scores = {h.doc_id: h.score for h in ranking}
    if retriever.name.startswith(("milvus_", "qdrant_")):
        # engine-side fusion ranks equal scores inside each engine list in the engine's own
        # order (docs/backends.md): equal texts end up at most one rank apart in each list
        # (Milvus counts ranks from 1, Qdrant from 0: 1/(k + rank) steps of either)
        assert abs(scores["d0"] - scores["d3"]) <= 2 * (1 / 60 - 1 / 61) + 1e-6
        return
    # equal texts score equally in each retriever, so the lower id ranks first there, and
    # a rank-based fusion (RRF) then keeps that order with a slightly higher score
    assert scores["d0"] >= scores["d3"]
    assert position["d0"] < position["d3"]


def test_a_filtered_out_id_never_appears(retriever):
    query = Query(QUERY, {"section": "pets"})
    ranking = retriever.retrieve(query, 8)
    assert len(ranking) > 0
    assert all(h.metadata["section"] == "pets" for h in ranking)
    assert {h.doc_id for h in ranking} <= {"d0", "d2", "d4", "d6"}
    assert retriever.retrieve(Query(QUERY, {"section": "none"}), 5).ids == ()


def test_k_is_filled_when_enough_match(retriever):
    for k in (1, 3):
        assert len(retriever.retrieve(Query(QUERY), k)) == k


def test_retrieve_many_equals_retrieve(retriever):
    queries = [Query(QUERY), Query("stock market"), Query("bread", {"section": "other"})]
    many = retriever.retrieve_many(queries, 4)
    assert [r.ids for r in many] == [retriever.retrieve(q, 4).ids for q in queries]


def test_results_isolated_from_the_stored_state(retriever, index):
    ranking = retriever.retrieve(Query(QUERY), 5)
    for hit in ranking:
        hit.metadata["tags"].append("edited")
        hit.metadata["section"] = "edited"
    assert [d.metadata for d in index.documents()] == [d.metadata for d in _documents()]
    again = retriever.retrieve(Query(QUERY), 5)
    assert all(h.metadata["tags"] == ["t"] for h in again)


def test_the_callers_query_is_not_mutated(retriever):
    filter_ = {"section": {"in": ["pets", "other"]}, "n": {"gte": 0}}
    before = copy.deepcopy(filter_)
    query = Query(QUERY, filter_)
    retriever.retrieve(query, 4)
    assert filter_ == before and query.filter == before


def test_bad_k_is_a_clear_error(retriever):
    from blendrank.errors import InvalidInputError

    for k in (0, -1, 2.5, True):
        with pytest.raises(InvalidInputError, match="k must be"):
            retriever.retrieve(Query(QUERY), k)


def test_hybrid_of_hybrids_fuses_by_name(index):
    """Any retrievers, any names: a hybrid is itself a retriever."""
    inner = index.retriever("hybrid")
    outer = HybridRetriever(
        {"lexical": index.retriever("bm25"), "both": inner}, weights={"both": 2}
    )
    ranking = outer.retrieve(Query(QUERY), 4)
    assert len(ranking) == 4
    assert all(
        "fused" in h.scores and ("lexical" in h.scores or "both" in h.scores) for h in ranking
    )


@pytest.mark.parametrize("store", ["embedded", "milvus", "qdrant+local", "qdrant+edge", "postgres"])
def test_ties_at_the_cut_are_chosen_by_id(tmp_path, store, request) -> None:
    """retrieve(q, 1) is retrieve(q, 2).top(1) even when the cut falls inside a tie."""
    from blendrank.backends import connect

    if store == "milvus":
        pytest.importorskip("pymilvus", reason="pymilvus (extra 'milvus') is not installed")
        index = connect(f"milvus+lite:{tmp_path / 'kb.db'}", create=True)
    elif store == "postgres":
        index = connect(request.getfixturevalue("postgres_server").uri("ties"), create=True)
    elif store.startswith("qdrant"):
        module = "qdrant_client" if store == "qdrant+local" else "qdrant_edge"
        pytest.importorskip(module, reason=f"{module} (extra 'qdrant') is not installed")
        index = connect(f"{store}:{tmp_path / 'q'}", create=True)
    else:
        index = Index.create(tmp_path / "kb")
    index.add([Document("d2", "apple"), Document("d10", "apple")])
    for name in ("bm25", "dense"):
        retriever = index.retriever(name)
        one, two = retriever.retrieve(Query("apple"), 1), retriever.retrieve(Query("apple"), 2)
        assert one.ids == two.top(1).ids == ("d10#0",), name


def test_a_pipeline_kept_across_writes_filters_the_generation_it_searches(tmp_path) -> None:
    index = Index.create(tmp_path / "kb", embedder=None)
    index.add([Document(f"d{i}", "apple pie", metadata={"s": "x"}) for i in range(3)])
    pipeline = index.pipeline(mode="bm25")
    index.add([Document("e0", "pear", metadata={"s": "y"}), Document("e1", "plum")])
    index.delete(["d0"])
    ranked = pipeline.run(Query("apple", {"s": "x"}), 5).final
    assert sorted(ranked.doc_ids) == ["d0", "d1", "d2"]  # the generation it was made for
    fresh = index.pipeline(mode="bm25").run(Query("apple", {"s": "x"}), 5).final
    assert sorted(fresh.doc_ids) == ["d1", "d2"]


def test_per_document_goes_deeper_when_one_document_fills_the_list(tmp_path) -> None:
    """A phrase query fetches 50 BM25 rows but returns k: that is not 'complete'."""
    index = Index.create(tmp_path / "kb", embedder=None, chunk_size=8, chunk_overlap=0)
    index.add([Document("a", " ".join(["red apple pie"] * 120))])
    index.add([Document(f"s{i}", f"a red apple number {i}") for i in range(5)])
    hits = index.search("red apple", top_k=5, mode="bm25", per="document")
    assert len(hits) == 5 and len({h.doc_id for h in hits}) == 5


def test_the_phrase_rule_still_sees_an_identifier_inside_a_longer_one(tmp_path) -> None:
    index = Index.create(tmp_path / "kb", embedder=None)
    index.add(
        [
            Document("long", "error code E-4029-B was logged by the service " * 3),
            Document("other", "code code code error error"),
        ]
    )
    hits = index.search('"E-4029" code', top_k=2, mode="bm25")
    assert hits[0].doc_id == "long"
