"""blendrank's hosted-API reranker clients against ``blendrank serve`` on loopback, which
speaks the Cohere v2, Cohere v1 / Jina, Voyage and TEI rerank shapes: the client and the
server check each other. Faults a real server cannot be made to produce (429 with
Retry-After, a 5xx storm, a bad key) come from a FAKE provider (``LoopbackServer``)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from blendrank.errors import InvalidInputError, RemoteModelError
from blendrank.rerank import load_reranker
from blendrank.rerank.hosted import PROVIDERS, HostedReranker

QUERY = "What event in 1956 marked the official birth of artificial intelligence as a discipline?"
DOCUMENTS = [
    "In 1950, Alan Turing published his seminal paper, 'Computing Machinery and Intelligence,' "
    "proposing the Turing Test as a criterion of intelligence.",
    "The Dartmouth Conference in 1956 is considered the birthplace of artificial intelligence "
    "as a field; here, John McCarthy and others coined the term 'artificial intelligence'.",
    "In 1951, British mathematician and computer scientist Alan Turing also developed the first "
    "program designed to play chess.",
    "The Logic Theorist, created in 1955 by Allen Newell and Herbert A. Simon, is considered "
    "the first true artificial intelligence program.",
]


@pytest.fixture(scope="module")
def bi():
    return load_reranker("bi:all-MiniLM-L6-v2")


@pytest.fixture
def server(start_server, bi):
    return start_server({"minilm": bi})


@pytest.mark.parametrize("provider", ["cohere", "jina", "voyage", "tei", "vllm"])
def test_every_shape_ranks_as_the_model_behind_it(server, bi, provider):
    rf = HostedReranker(provider, "minilm", base_url=server.url, api_key="not-checked")
    ours = rf(QUERY, DOCUMENTS, top_k=3)
    local = bi(QUERY, DOCUMENTS, top_k=3)
    assert [r.index for r in ours] == [r.index for r in local]
    assert ours[0].index == 1 and ours[0].text == DOCUMENTS[1]
    assert all(0.0 <= r.score <= 1.0 for r in ours)  # the providers' relevance scale
    if provider in ("jina", "voyage"):
        assert ours.info["usage"]["tokens"] > 0


def test_cost_adds_up_at_the_price_given(server):
    rf = HostedReranker(
        "jina", "minilm", base_url=server.url, api_key="x", price_per_million_tokens=0.02
    )
    usage = rf(QUERY, DOCUMENTS, top_k=2).info["usage"]
    assert usage["cost_usd"] == pytest.approx(usage["tokens"] * 0.02 / 1e6) and usage["tokens"]
    plain = HostedReranker("jina", "minilm", base_url=server.url, api_key="x")
    assert "cost_usd" not in plain(QUERY, DOCUMENTS, top_k=2).info["usage"]
    with pytest.raises(InvalidInputError, match="price_per_search_unit"):
        HostedReranker("cohere", "m", api_key="x", price_per_search_unit=-1)


def test_long_lists_are_split_at_the_providers_limit(server, bi):
    rf = HostedReranker("cohere", "minilm", base_url=server.url, max_documents_per_call=3)
    docs = DOCUMENTS * 2
    ours = rf(QUERY, docs, top_k=8)
    assert ours.info["usage"]["requests"] == 3  # 8 documents, 3 per call
    local = bi(QUERY, docs, top_k=8)
    np.testing.assert_allclose(
        sorted(r.score for r in ours), sorted((r.score + 1) / 2 for r in local), atol=1e-5
    )


def test_cohere_sdk_and_our_client_agree_on_the_server(server):
    cohere = pytest.importorskip("cohere", reason="cohere (extra 'test') is not installed")
    sdk = cohere.ClientV2(api_key="x", base_url=server.url)
    theirs = sdk.rerank(model="minilm", query=QUERY, documents=DOCUMENTS, top_n=4)
    ours = HostedReranker("cohere", "minilm", base_url=server.url)(QUERY, DOCUMENTS, top_k=4)
    assert [r.index for r in theirs.results] == [r.index for r in ours]
    assert [r.relevance_score for r in theirs.results] == pytest.approx([r.score for r in ours])


def test_an_unknown_model_is_the_servers_clear_error(server):
    rf = HostedReranker("cohere", "no-such-model", base_url=server.url, max_retries=0)
    with pytest.raises(RemoteModelError, match="no-such-model"):
        rf(QUERY, DOCUMENTS)


# ---- faults from a FAKE provider -------------------------------------------------------


def _cohere_answer(body):
    n = len(body["documents"])
    return {"results": [{"index": i, "relevance_score": 1 - i / n} for i in range(n)]}


def test_429_with_retry_after_is_waited_and_retried(fake_provider):
    calls = []

    def handle(path, body):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return 429, {"Retry-After": "1"}, {"message": "slow down"}
        return 200, {}, _cohere_answer(body)

    fake = fake_provider(handle)
    rf = HostedReranker("cohere", "m", base_url=fake.url, api_key="k", retry_backoff=0)
    assert [r.index for r in rf(QUERY, DOCUMENTS, top_k=2)] == [0, 1]
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.9
    assert fake.requests[0].headers.get("Authorization") == "Bearer k"


def test_a_5xx_storm_is_retried_a_bounded_number_of_times(fake_provider):
    fake = fake_provider(lambda path, body: (503, {}, {"message": "overloaded"}))
    rf = HostedReranker("jina", "m", base_url=fake.url, max_retries=2, retry_backoff=0.01)
    started = time.monotonic()
    with pytest.raises(RemoteModelError, match="failed after 3 attempt"):
        rf(QUERY, DOCUMENTS)
    assert len(fake.requests) == 3 and time.monotonic() - started < 5


def test_a_bad_key_says_where_the_key_comes_from(fake_provider, monkeypatch):
    monkeypatch.setenv("VOYAGE_API_KEY", "from-env")
    fake = fake_provider(lambda path, body: (401, {}, {"detail": "Provided API key is invalid."}))
    rf = HostedReranker("voyage", "rerank-2", base_url=fake.url)
    with pytest.raises(RemoteModelError, match=r"HTTP 401.*VOYAGE_API_KEY"):
        rf(QUERY, DOCUMENTS)
    assert len(fake.requests) == 1  # a 4xx is not retried
    assert fake.requests[0].headers["Authorization"] == "Bearer from-env"
    assert fake.requests[0].body["top_k"] == 4 and fake.requests[0].body["truncation"] is True


def test_a_slow_provider_times_out(fake_provider):
    def slow(path, body):
        time.sleep(3)
        return 200, {}, _cohere_answer(body)

    fake = fake_provider(slow)
    rf = HostedReranker("cohere", "m", base_url=fake.url, timeout=0.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(RemoteModelError, match="timeout"):
        rf(QUERY, DOCUMENTS)
    assert time.monotonic() - started < 2.5


def test_an_answer_missing_documents_is_an_error_not_a_silent_gap(fake_provider):
    fake = fake_provider(
        lambda path, body: (200, {}, {"data": [{"index": 0, "score": 0.9}], "usage": {}})
    )
    rf = HostedReranker("mixedbread", "mxbai-rerank-large-v1", base_url=fake.url)
    with pytest.raises(RemoteModelError, match="scored 1 of 4"):
        rf(QUERY, DOCUMENTS)
    assert fake.requests[0].path == "/v1/reranking" and "input" in fake.requests[0].body


def test_infinity_is_the_cohere_v1_shape_at_slash_rerank(fake_provider):
    fake = fake_provider(lambda path, body: (200, {}, _cohere_answer(body)))
    rf = HostedReranker("infinity", "mixedbread-ai/mxbai-rerank-xsmall-v1", base_url=fake.url)
    assert len(rf(QUERY, DOCUMENTS, top_k=4)) == 4
    seen = fake.requests[0]
    assert seen.path == "/rerank" and seen.body["documents"] == DOCUMENTS
    assert seen.body["top_n"] == 4 and seen.body["model"].startswith("mixedbread")


def test_clear_errors_at_construction():
    with pytest.raises(InvalidInputError, match="unknown rerank provider"):
        HostedReranker("acme", "m")
    with pytest.raises(InvalidInputError, match="needs model="):
        HostedReranker("cohere")
    with pytest.raises(InvalidInputError, match="no per-document token limit"):
        HostedReranker("voyage", "rerank-2", max_tokens_per_doc=100)
    assert set(PROVIDERS) >= {"cohere", "voyage", "jina", "mixedbread", "tei"}


def test_rank_fields_ranks_object_documents_on_those_fields(server):
    import httpx

    documents = [
        {"title": "Turing's paper", "body": DOCUMENTS[0], "id": 7},
        {"title": "Dartmouth", "body": DOCUMENTS[1], "id": 8},
    ]
    body = {
        "model": "minilm",
        "query": QUERY,
        "documents": documents,
        "rank_fields": ["title", "body"],
        "return_documents": True,
    }
    answer = httpx.post(f"{server.url}/v1/rerank", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert results[0]["index"] == 1 and results[0]["document"] == documents[1]
    assert answer.json()["usage"]["total_tokens"] > 0
    body["rank_fields"] = ["title", "summary"]
    missing = httpx.post(f"{server.url}/v1/rerank", json=body, timeout=30)
    assert missing.status_code == 422 and "summary" in missing.text
    v2 = {"model": "minilm", "query": QUERY, "documents": DOCUMENTS, "rank_fields": ["text"]}
    refused = httpx.post(f"{server.url}/v2/rerank", json=v2, timeout=30)
    assert refused.status_code == 422 and "rank_fields" in refused.text


def test_voyage_body_gets_voyages_answer(server):
    import httpx

    body = {"model": "minilm", "query": QUERY, "documents": DOCUMENTS, "top_k": 2}
    answer = httpx.post(f"{server.url}/v1/rerank", json=body, timeout=30).json()
    assert answer["object"] == "list" and [d["index"] for d in answer["data"]][:1] == [1]
    assert len(answer["data"]) == 2 and answer["usage"]["total_tokens"] > 0
    both = httpx.post(f"{server.url}/v1/rerank", json={**body, "top_n": 2}, timeout=30)
    assert both.status_code == 422


def test_openai_model_list_and_tei_info(server):
    import httpx

    models = httpx.get(f"{server.url}/v1/models", timeout=30).json()
    assert models["object"] == "list" and [m["id"] for m in models["data"]] == ["minilm"]
    info = httpx.get(f"{server.url}/info", timeout=30).json()
    assert info["model_id"] == "minilm" and info["max_client_batch_size"] >= 1
