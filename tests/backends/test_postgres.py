"""The PostgreSQL backend on a real PostgreSQL 18 + pgvector 0.8 (run as an unprivileged
user): BM25 in SQL equal to the embedded index's, PostgreSQL's own full-text search beside
it, RRF in SQL, one transaction per write, and nothing a user writes reaching the SQL."""

from __future__ import annotations

import pytest

from blendrank import Document, Index
from blendrank.backends import connect
from blendrank.errors import (
    IndexExistsError,
    IndexNotFoundError,
    InvalidInputError,
    RemoteModelError,
)
from blendrank.types import Query

TEXTS = [
    "Cats purr by vibrating their larynx.",
    "Dogs bark at strangers and at the mail carrier; dogs bark a lot.",
    "The stock market closed lower on Friday.",
    "Kittens purr while nursing and cats purr when content.",
    "A recipe for bread: flour, water, salt and yeast.",
    "Lions are big cats that roar rather than purr.",
]
LEAN = {"embedder": None, "chunk_size": 32, "chunk_overlap": 0}


def _docs() -> list[Document]:
    return [Document(f"d{i}", t, metadata={"n": i}) for i, t in enumerate(TEXTS)]


def _bm25(store, text: str) -> list[tuple[str, float]]:
    return [(h.id, h.score) for h in store.search(text, mode="bm25", top_k=10)]


def test_bm25_is_the_embedded_indexs_after_any_writes(postgres_uri, tmp_path):
    store = connect(postgres_uri, create=True, **LEAN)
    embedded = Index.create(tmp_path / "embedded", **LEAN)
    for kb in (store, embedded):
        kb.add(_docs())
        kb.delete(["d3", "d5"])  # document frequencies, count and average length all move
        kb.add([Document("x", "cats everywhere, cats at home and a long tail of words here")])
        kb.add([Document("d0", "Cats purr; cats purr again and again.")])
    for text in ("cats purr", "dogs bark dogs", "bread", "cats", "why do lions roar"):
        ours, theirs = _bm25(store, text), _bm25(embedded, text)
        assert [i for i, _ in ours] == [i for i, _ in theirs], text
        assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-5)
    assert store.stats()[0] == 5
    store.close()


def test_fulltext_is_postgres_own_and_takes_any_query_text(postgres_uri):
    store = connect(postgres_uri, create=True, **LEAN)
    store.add(_docs())
    ranking = store.fulltext().retrieve(Query("purring cats"), 10)
    assert {h.doc_id for h in ranking} == {"d0", "d3", "d5"}  # any lexeme matches
    assert ranking.scores.tolist() == sorted(ranking.scores.tolist(), reverse=True)
    # tsquery syntax in a query is text, never an operator
    for hostile, expected in (
        ("cats' | !dogs & \\\\", {"d0", "d1", "d3", "d5"}),  # "!dogs" is the word dogs
        ("':* | (", set()),
        ("!!!", set()),
        ("cats & !purr", {"d0", "d3", "d5"}),  # not "cats but not purr" (that is d5 only)
    ):
        hits = store.fulltext().retrieve(Query(hostile), 10)
        assert {h.doc_id for h in hits} == expected, hostile
    store.close()
    swapped = connect(postgres_uri + "&lexical=fulltext")
    hits = swapped.search("cats", mode="bm25", top_k=10)
    assert {h.doc_id for h in hits} == {"d0", "d3", "d5"} and "fulltext" in hits[0].scores
    swapped.close()


def test_sql_rrf_is_one_over_k_plus_the_rank_from_one(postgres_uri):
    store = connect(postgres_uri, create=True, chunk_size=32, chunk_overlap=0)
    store.add(_docs())
    query = Query("cats purr", {"n": {"lte": 4}})
    fused = store.engine_hybrid(rrf_k=60).retrieve(query, 5)
    lists = [store.retriever(mode).retrieve(query, 20) for mode in ("bm25", "dense")]
    assert all(h.metadata["n"] <= 4 for h in fused)
    for hit in fused:
        ranks = [r.ids.index(hit.id) + 1 for r in lists if hit.id in r.ids]
        assert hit.score == pytest.approx(sum(1 / (60 + r) for r in ranks), abs=1e-9)
    store.close()


def test_a_failed_write_changes_nothing(postgres_uri, monkeypatch):
    store = connect(postgres_uri, create=True, **LEAN)
    store.add(_docs())
    before = (_bm25(store, "cats"), store.stats(), len(store))

    def fail(*_args, **_kwargs):
        raise OSError("connection lost")  # after the chunks and postings were written

    monkeypatch.setattr(store, "_store_put_documents", fail)
    with pytest.raises(OSError):
        store.add([Document("d0", "cats cats cats"), Document("new", "cats and more cats")])
    monkeypatch.undo()
    assert (_bm25(store, "cats"), store.stats(), len(store)) == before
    assert store.get("d0").text == TEXTS[0] and store.get("new") is None
    store.close()


def test_names_and_values_never_reach_the_sql(postgres_server, postgres_uri):
    for table in ("kb; DROP TABLE x", 'kb"', "KB", "1kb", "a" * 42):
        with pytest.raises(InvalidInputError, match="not a plain table name"):
            connect(postgres_server.uri(table), create=True, **LEAN)
    store = connect(postgres_uri, create=True, **LEAN)
    hostile = "'); DROP TABLE pg_class; --"
    store.add([Document(hostile, f"cats {hostile}", metadata={"s": hostile})])
    assert [h.doc_id for h in store.search(hostile, mode="bm25", filter={"s": hostile})] == [
        hostile
    ]
    assert store.get(hostile).metadata == {"s": hostile}
    store.close()


def test_clear_errors(postgres_server, postgres_uri):
    with pytest.raises(IndexNotFoundError, match="no blendrank store"):
        connect(postgres_uri)
    connect(postgres_uri, create=True, **LEAN).close()
    from blendrank.backends.postgres import PostgresIndex

    with pytest.raises(IndexExistsError):
        PostgresIndex.create(postgres_uri, **LEAN)
    kb = connect(postgres_uri)
    with pytest.raises(InvalidInputError, match="has no retriever 'dense'; it has bm25"):
        kb.search("cats", mode="dense")
    kb.close()
    with pytest.raises(InvalidInputError, match="lexical must be"):
        connect(postgres_uri + "&lexical=tfidf")
    import psycopg

    with psycopg.connect(postgres_server.uri("x").split("?")[0], autocommit=True) as conn:
        conn.execute("CREATE TABLE foreign_meta (key text, value jsonb)")
    with pytest.raises(IndexNotFoundError, match="not made by blendrank"):
        connect(postgres_server.uri("foreign"))
    closed = f"postgresql://blendrank:secret@127.0.0.1:{_closed_port()}/postgres?table=kb"
    with pytest.raises(RemoteModelError, match="cannot connect") as caught:
        connect(closed, timeout=2)
    assert "secret" not in str(caught.value)


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_search_during_a_write_neither_waits_nor_sees_it(postgres_uri, monkeypatch):
    import threading

    store = connect(postgres_uri, create=True, **LEAN)
    store.add(_docs())
    written, release = threading.Event(), threading.Event()
    real = store._store_put_documents

    def slow(documents):
        written.set()  # chunks and postings are in, uncommitted
        assert release.wait(30)
        real(documents)

    monkeypatch.setattr(store, "_store_put_documents", slow)
    writer = threading.Thread(target=store.add, args=([Document("new", "cats at dawn")],))
    writer.start()
    try:
        assert written.wait(30)
        assert "new" not in {h.doc_id for h in store.search("cats", mode="bm25")}
        assert store.get("new") is None and len(store) == 6
    finally:
        release.set()
        writer.join(30)
    assert "new" in {h.doc_id for h in store.search("cats", mode="bm25")}
    store.close()


def test_a_read_survives_the_server_dropping_its_connection(postgres_server, postgres_uri):
    import psycopg

    store = connect(postgres_uri, create=True, **LEAN)
    store.add(_docs())
    pid = store.conn.info.backend_pid
    with psycopg.connect(postgres_server.uri("x").split("?")[0], autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    assert [h.doc_id for h in store.search("dogs", mode="bm25")] == ["d1"]  # reconnected
    assert store.conn.info.backend_pid != pid and store.get("d1") is not None
    store.close()
