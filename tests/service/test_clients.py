"""Real clients, unchanged, against a real server: the cohere SDK (v2 and v1) and plain
httpx in the Jina and TEI shapes get the library's scores, best first."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

DOCS = [
    "The agent needs glibc 2.28 or newer and opens port 8443.",
    "Cats purr when they are content.",
    "Error E-4029 means the disk quota is exceeded; free space or raise the quota.",
    "Run the MSI installer with administrator rights.",
    "Restore a backup with acme-restore --from <snapshot>.",
]
QUERY = "what does error E-4029 mean?"


def library_scores(reranker, query: str, docs: list[str]) -> dict[int, float]:
    return {r.index: r.score for r in reranker(query, docs)}


def assert_best_first(scores: list[float]) -> None:
    assert scores == sorted(scores, reverse=True)


def test_cohere_sdk_v2_gets_the_library_scores_best_first(tiny, start_server) -> None:
    cohere = pytest.importorskip("cohere")
    server = start_server({"tiny": tiny}, api_keys=("sdk-key",))
    client = cohere.ClientV2(api_key="sdk-key", base_url=server.url, timeout=30)
    response = client.rerank(model="tiny", query=QUERY, documents=DOCS)
    expected = library_scores(tiny, QUERY, DOCS)
    assert sorted(r.index for r in response.results) == list(range(len(DOCS)))
    assert_best_first([r.relevance_score for r in response.results])
    for result in response.results:
        assert result.relevance_score == pytest.approx(expected[result.index], abs=1e-5)
        assert 0.0 <= result.relevance_score <= 1.0
    assert response.id and response.meta.api_version.version == "2"

    top = client.rerank(model="tiny", query=QUERY, documents=DOCS, top_n=2)
    assert [r.index for r in top.results] == [r.index for r in response.results[:2]]


def test_cohere_sdk_max_tokens_per_doc_cuts_documents(tiny, start_server) -> None:
    cohere = pytest.importorskip("cohere")
    server = start_server({"tiny": tiny})
    client = cohere.ClientV2(api_key="unused", base_url=server.url, timeout=30)
    response = client.rerank(model="tiny", query=QUERY, documents=DOCS, max_tokens_per_doc=3)
    tokenizer = server.state.models.get("tiny").tokenizer
    cut = []
    for doc in DOCS:
        encoding = tokenizer.encode(doc, add_special_tokens=False)
        cut.append(doc[: encoding.offsets[2][1]])
    expected = library_scores(tiny, QUERY, cut)
    for result in response.results:
        assert result.relevance_score == pytest.approx(expected[result.index], abs=1e-5)


def test_cohere_sdk_v1_returns_documents(tiny, start_server) -> None:
    cohere = pytest.importorskip("cohere")
    server = start_server({"tiny": tiny})
    client = cohere.Client(api_key="unused", base_url=server.url, timeout=30)
    response = client.rerank(query=QUERY, documents=DOCS, top_n=3, return_documents=True)
    expected = library_scores(tiny, QUERY, DOCS)
    assert len(response.results) == 3
    assert_best_first([r.relevance_score for r in response.results])
    for result in response.results:
        assert result.document.text == DOCS[result.index]
        assert result.relevance_score == pytest.approx(expected[result.index], abs=1e-5)


def test_jina_shape_with_document_objects(tiny, start_server) -> None:
    server = start_server({"tiny": tiny, "other": tiny})
    objects = [{"text": d, "source": f"kb-{i}"} for i, d in enumerate(DOCS)]
    body = {
        "model": "other",
        "query": QUERY,
        "documents": objects,
        "top_n": 4,
        "return_documents": True,
    }
    response = httpx.post(f"{server.url}/v1/rerank", json=body, timeout=30)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["model"] == "other"
    results = payload["results"]
    expected = library_scores(tiny, QUERY, DOCS)
    assert len(results) == 4
    assert_best_first([r["relevance_score"] for r in results])
    for r in results:
        assert r["document"] == objects[r["index"]]  # extra fields come back unchanged
        assert r["relevance_score"] == pytest.approx(expected[r["index"]], abs=1e-5)
    plain = httpx.post(
        f"{server.url}/v1/rerank", json={"query": QUERY, "documents": DOCS}, timeout=30
    ).json()
    assert "document" not in plain["results"][0]  # return_documents defaults to false


def test_tei_shape_scores_raw_scores_and_text(tiny, start_server) -> None:
    server = start_server({"tiny": tiny})
    expected = library_scores(tiny, QUERY, DOCS)
    response = httpx.post(
        f"{server.url}/rerank", json={"query": QUERY, "texts": DOCS, "return_text": True}
    )
    assert response.status_code == 200, response.text
    ranks = response.json()
    assert isinstance(ranks, list) and len(ranks) == len(DOCS)
    assert_best_first([r["score"] for r in ranks])
    for r in ranks:
        assert r["text"] == DOCS[r["index"]]
        assert r["score"] == pytest.approx(expected[r["index"]], abs=1e-5)

    raw = httpx.post(
        f"{server.url}/rerank", json={"query": QUERY, "texts": DOCS, "raw_scores": True}
    )
    raw_ranks = raw.json()
    assert [r["index"] for r in raw_ranks] == [r["index"] for r in ranks]
    assert "text" not in raw_ranks[0]
    for r in raw_ranks:  # the logit behind the sigmoid score
        p = expected[r["index"]]
        assert r["score"] == pytest.approx(np.log(p / (1 - p)), abs=1e-3)


def test_tei_truncate_false_refuses_a_pair_longer_than_the_window(tiny, start_server) -> None:
    server = start_server({"tiny": tiny})
    long_text = "disk quota exceeded " * 40  # far beyond the tiny model's 64 tokens
    body = {"query": QUERY, "texts": ["short", long_text]}
    refused = httpx.post(f"{server.url}/rerank", json=body)
    assert refused.status_code == 422
    message = refused.json()["error"]
    assert "texts[1]" in message and "64" in message and "truncate" in message
    accepted = httpx.post(f"{server.url}/rerank", json={**body, "truncate": True})
    assert accepted.status_code == 200
    expected = library_scores(tiny, QUERY, ["short", long_text])  # split into windows
    for r in accepted.json():
        assert r["score"] == pytest.approx(expected[r["index"]], abs=1e-5)


def test_tei_truncation_direction_left_keeps_the_end(tiny, start_server) -> None:
    server = start_server({"tiny": tiny})
    long_text = "the backup finished " * 30 + "error E-4029 seat limit reached"
    body = {"query": QUERY, "texts": [long_text], "truncate": True}
    left = httpx.post(
        f"{server.url}/rerank", json={**body, "truncation_direction": "left", "raw_scores": True}
    )
    assert left.status_code == 200
    from blendrank.service.registry import served_model  # what the server keeps

    kept = served_model("tiny", tiny).keep_end(QUERY, [long_text])[0]
    assert long_text.endswith(kept) and len(kept) < len(long_text)
    p = library_scores(tiny, QUERY, [kept])[0]
    assert left.json()[0]["score"] == pytest.approx(np.log(p / (1 - p)), abs=1e-3)
