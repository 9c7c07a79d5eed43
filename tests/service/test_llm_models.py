"""An LLM reranker served by `blendrank serve` answers the rerank APIs like any other
model (the listwise one through the pair-scoring path, scored by position), in the same
order as the library call."""

from __future__ import annotations

import httpx

from blendrank.rerank.llm import LLMListwiseReranker, LLMPointwiseReranker

QUERY = "What event in 1956 marked the official birth of artificial intelligence?"
DOCS = [
    "In 1950 Alan Turing published 'Computing Machinery and Intelligence'.",
    "The Dartmouth Conference of 1956 is considered the birth of AI as a discipline.",
    "In 1951 Alan Turing wrote a chess-playing program.",
]


def test_llm_rerankers_answer_the_rerank_api(llama_server, start_server):
    pointwise = LLMPointwiseReranker("gemma", llama_server, api="completions")
    listwise = LLMListwiseReranker("gemma", llama_server, api="completions")
    server = start_server({"pointwise": pointwise, "listwise": listwise})
    for name, model in (("pointwise", pointwise), ("listwise", listwise)):
        body = {"model": name, "query": QUERY, "documents": DOCS, "top_n": 3}
        response = httpx.post(f"{server.url}/v2/rerank", json=body, timeout=120)
        assert response.status_code == 200, response.text
        served = [r["index"] for r in response.json()["results"]]
        assert sorted(served) == [0, 1, 2]
        assert served == [r.index for r in model(QUERY, DOCS, top_k=3)]  # same as the library


def test_a_failing_llm_server_is_a_502_from_the_service(fake_llm, start_server):
    upstream = fake_llm(lambda path, body: (503, {}, {"error": {"message": "overloaded"}}))
    rf = LLMPointwiseReranker("m", upstream.url, max_retries=0)
    server = start_server({"llm": rf})
    body = {"model": "llm", "query": "q", "documents": DOCS[:2]}
    response = httpx.post(f"{server.url}/v2/rerank", json=body, timeout=30)
    assert response.status_code == 502, response.text
    assert "overloaded" in response.text and "Traceback" not in response.text
