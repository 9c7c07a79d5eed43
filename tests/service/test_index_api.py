"""``/search`` (filters, fusion, per-retriever scores, reranking through a served model)
and ``/documents`` (PUT, bulk POST, GET, DELETE) against a real server and index."""

from __future__ import annotations

import httpx
import pytest

from .conftest import metric_value


def test_search_with_a_filter_reports_each_retrievers_scores(kb_index, tiny, start_server):
    server = start_server({"tiny": tiny}, index=kb_index)
    body = {
        "query": "E-4029",
        "top_k": 10,
        "filter": {"section": "troubleshooting", "date": {"gte": "2025-06-01"}},
    }
    response = httpx.post(f"{server.url}/search", json=body, timeout=30)
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    # E-4029 in troubleshooting since June 2025: kb-003, kb-017, kb-021 (and kb-005,
    # kb-018 match the filter without the term: dense still returns them)
    doc_ids = [h["doc_id"] for h in hits]
    assert {"kb-003", "kb-017", "kb-021"} <= set(doc_ids)
    assert all(h["metadata"]["section"] == "troubleshooting" for h in hits)
    assert all(h["metadata"]["date"] >= "2025-06-01" for h in hits)
    assert "bm25" in hits[0]["scores"] and "dense" in hits[0]["scores"]
    library = kb_index.search("E-4029", 10, filter=body["filter"])
    assert doc_ids == [h.doc_id for h in library]
    assert [h["score"] for h in hits] == pytest.approx([h.score for h in library])


def test_search_options_match_the_library(kb_index, start_server):
    server = start_server({}, index=kb_index)
    options = {
        "mode": "hybrid",
        "fusion": "linear",
        "weights": {"bm25": 0.3, "dense": 0.7},
        "per": "document",
        "top_k": 5,
    }
    response = httpx.post(f"{server.url}/search", json={"query": "backup restore", **options})
    assert response.status_code == 200, response.text
    library = kb_index.search("backup restore", **options)
    assert [h["id"] for h in response.json()["hits"]] == [h.id for h in library]


def test_search_reranked_by_a_served_model(kb_index, tiny, start_server):
    server = start_server({"tiny": tiny}, index=kb_index)
    body = {"query": "license seats", "top_k": 3, "rerank": "tiny", "rerank_candidates": 8}
    response = httpx.post(f"{server.url}/search", json=body, timeout=30)
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    library = kb_index.search("license seats", 3, rerank=tiny, rerank_candidates=8)
    assert [h["id"] for h in hits] == [h.id for h in library]
    for got, want in zip(hits, library, strict=True):
        assert got["scores"]["rerank"] == pytest.approx(want.scores["rerank"], abs=1e-5)
        assert got["ranks"]["rerank"] == want.ranks["rerank"]
    metrics = httpx.get(f"{server.url}/metrics").text  # scored through the micro-batcher
    assert metric_value(metrics, "blendrank_rerank_batch_pairs_sum", model="tiny") == 8
    unknown = httpx.post(f"{server.url}/search", json={**body, "rerank": "nope"})
    assert unknown.status_code == 404 and "'tiny'" in unknown.json()["message"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"query": "x", "filter": {"colour": "red"}}, 400, "colour"),
        ({"query": "x", "filter": {"date": {"near": "2025"}}}, 400, "near"),
        ({"query": "x", "mode": "fuzzy"}, 422, "mode"),
        ({"query": "x", "top_k": 0}, 422, "top_k"),
        ({"query": "x", "topk": 3}, 422, "topk"),  # unknown keys are refused, not ignored
    ],
)
def test_bad_search_requests(kb_index, start_server, body, status, fragment):
    server = start_server({}, index=kb_index)
    response = httpx.post(f"{server.url}/search", json=body)
    assert response.status_code == status, response.text
    assert fragment in response.json()["message"]


def test_documents_put_get_delete(bm25_index, start_server):
    server = start_server({}, index=bm25_index)
    url = f"{server.url}/documents"
    doc = {"text": "Error E-9001: the flux capacitor is empty.", "metadata": {"section": "faq"}}
    put = httpx.put(f"{url}/kb-900", json={**doc, "title": "Flux"})
    assert put.status_code == 200, put.text
    assert put.json()["added"] == 1 and put.json()["documents"] == 25
    got = httpx.get(f"{url}/kb-900").json()
    assert got == {"id": "kb-900", "title": "Flux", **doc}
    found = httpx.post(
        f"{server.url}/search", json={"query": "E-9001", "mode": "bm25", "top_k": 1}
    ).json()
    assert found["hits"][0]["doc_id"] == "kb-900"

    again = httpx.put(f"{url}/kb-900", json={**doc, "title": "Flux"}).json()
    assert again["unchanged"] == 1
    changed = httpx.put(f"{url}/kb-900", json={"text": "replaced"}).json()
    assert changed["updated"] == 1 and changed["generation"] > put.json()["generation"]
    assert httpx.get(f"{url}/kb-900").json()["text"] == "replaced"

    deleted = httpx.delete(f"{url}/kb-900")
    assert deleted.status_code == 200 and deleted.json()["deleted"] == 1
    assert deleted.json()["documents"] == 24
    missing = httpx.get(f"{url}/kb-900")
    assert missing.status_code == 404 and "kb-900" in missing.json()["message"]
    assert httpx.delete(f"{url}/kb-900").status_code == 404
    assert bm25_index.get("kb-900") is None


def test_bulk_write_and_ids_with_slashes(bm25_index, start_server):
    server = start_server({}, index=bm25_index, max_documents=3)
    docs = [{"id": f"notes/n{i}", "text": f"note number {i}"} for i in range(3)]
    response = httpx.post(f"{server.url}/documents", json={"documents": docs})
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 3
    assert httpx.get(f"{server.url}/documents/notes/n1").json()["text"] == "note number 1"
    too_many = httpx.post(f"{server.url}/documents", json={"documents": docs + docs[:1]})
    assert too_many.status_code == 413 and "--max-documents" in too_many.json()["message"]
    twice = httpx.post(f"{server.url}/documents", json={"documents": docs[:1] * 2})
    assert twice.status_code == 400 and "appears twice" in twice.json()["message"]


def test_search_fuses_named_retrievers_and_reads_filters_from_the_question(
    bm25_index, start_server
):
    bm25_index.add_retriever("bm42")
    server = start_server({}, index=bm25_index)
    body = {
        "query": "enterprise installation agent since 2025",
        "retrievers": ["bm25", "bm42"],
        "weights": {"bm25": 0.5, "bm42": 1.0},
        "self_query": "filter",
        "per": "document",
    }
    response = httpx.post(f"{server.url}/search", json=body, timeout=30)
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["self_query"]["filter"] == {
        "product_line": "enterprise",
        "section": "installation",
        "date": {"gte": "2025-01-01"},
    }
    assert out["self_query"]["query"] == "agent"
    library = bm25_index.search(body["query"], **{k: v for k, v in body.items() if k != "query"})
    assert [h["id"] for h in out["hits"]] == [h.id for h in library] and library
    for hit in out["hits"]:
        assert hit["metadata"]["product_line"] == "enterprise"
        assert hit["metadata"]["date"] >= "2025-01-01"
        assert set(hit["scores"]) <= {"bm25", "bm42", "fused"}
    plain = httpx.post(f"{server.url}/search", json={"query": "agent", "mode": "bm25"}).json()
    assert "self_query" not in plain or plain["self_query"] is None
    missing = httpx.post(f"{server.url}/search", json={"query": "x", "retrievers": ["e5"]})
    assert missing.status_code == 400 and "has no retriever 'e5'" in missing.json()["message"]
    bad = httpx.post(f"{server.url}/search", json={"query": "x", "weights": {"bm25": -1}})
    assert bad.status_code == 422
