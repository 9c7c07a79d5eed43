"""Every refusal is a JSON body whose message says what to fix, with the right status,
and never a stack trace: unknown model, API keys, each limit, malformed bodies."""

from __future__ import annotations

import httpx
import pytest

DOCS = ["alpha beta", "gamma delta", "epsilon"]


def assert_error(response: httpx.Response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["message"] == body["error"]
    for fragment in fragments:
        assert fragment in body["message"], body["message"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert response.headers["x-request-id"] == body["request_id"]
    return body


def test_unknown_model_names_the_served_ones(tiny, start_server) -> None:
    server = start_server({"tiny": tiny, "fast": tiny})
    v2 = httpx.post(
        f"{server.url}/v2/rerank", json={"model": "rerank-v3.5", "query": "q", "documents": DOCS}
    )
    assert_error(v2, 404, "'rerank-v3.5'", "'tiny'", "'fast'")
    tei = httpx.post(f"{server.url}/rerank", json={"model": "x", "query": "q", "texts": DOCS})
    assert_error(tei, 404, "'tiny', 'fast'")


def test_cohere_sdk_sees_an_unknown_model_as_not_found(tiny, start_server) -> None:
    cohere = pytest.importorskip("cohere")
    server = start_server({"tiny": tiny})
    client = cohere.ClientV2(api_key="k", base_url=server.url, timeout=30)
    with pytest.raises(cohere.NotFoundError) as caught:
        client.rerank(model="rerank-v3.5", query="q", documents=DOCS)
    assert "this server serves: 'tiny'" in caught.value.body["message"]


def test_api_keys(tiny, start_server) -> None:
    server = start_server({"tiny": tiny}, api_keys=("k1", "k2"))
    body = {"model": "tiny", "query": "q", "documents": DOCS}
    missing = httpx.post(f"{server.url}/v2/rerank", json=body)
    assert_error(missing, 401, "Authorization: Bearer")
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = httpx.post(f"{server.url}/v2/rerank", json=body, headers={"Authorization": "Bearer x"})
    assert_error(wrong, 401, "invalid API key")
    for key in ("k1", "k2"):
        ok = httpx.post(
            f"{server.url}/v2/rerank", json=body, headers={"Authorization": f"Bearer {key}"}
        )
        assert ok.status_code == 200
    assert_error(httpx.get(f"{server.url}/metrics"), 401)
    assert httpx.get(f"{server.url}/health").status_code == 200  # probes need no key
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_each_limit_is_a_413_naming_it(tiny, start_server) -> None:
    server = start_server(
        {"tiny": tiny}, max_documents=3, max_document_chars=50, max_body_bytes=2048
    )
    url = f"{server.url}/v2/rerank"
    too_many = httpx.post(url, json={"model": "tiny", "query": "q", "documents": DOCS + ["x"]})
    assert_error(too_many, 413, "4 documents", "at most 3", "--max-documents")
    too_long = httpx.post(url, json={"model": "tiny", "query": "q", "documents": ["a", "b" * 51]})
    assert_error(too_long, 413, "documents[1] has 51 characters", "--max-document-chars")
    tei = httpx.post(f"{server.url}/rerank", json={"query": "q", "texts": ["x"] * 4})
    assert_error(tei, 413, "4 texts")
    big = {"model": "tiny", "query": "q", "documents": ["y" * 40] * 3, "pad": "z" * 3000}
    assert_error(httpx.post(url, json=big), 413, "request body is", "--max-body-bytes")

    def chunks():  # no Content-Length: the limit holds while the body streams in
        for _ in range(10):
            yield b" " * 500

    streamed = httpx.post(url, content=chunks(), headers={"content-type": "application/json"})
    assert_error(streamed, 413, "more than")


def test_malformed_bodies_get_readable_422s(tiny, start_server) -> None:
    server = start_server({"tiny": tiny})
    url = f"{server.url}/v2/rerank"
    not_json = httpx.post(url, content=b"{oops", headers={"content-type": "application/json"})
    assert_error(not_json, 422, "not valid JSON")
    missing = httpx.post(url, json={"model": "tiny", "documents": DOCS})
    assert_error(missing, 422, "query: Field required")
    bad_top = httpx.post(url, json={"model": "tiny", "query": "q", "documents": DOCS, "top_n": 0})
    assert_error(bad_top, 422, "top_n")
    empty = httpx.post(url, json={"model": "tiny", "query": "q", "documents": []})
    assert_error(empty, 422, "documents")
    blank = httpx.post(url, json={"model": "tiny", "query": "   ", "documents": DOCS})
    assert_error(blank, 400, "query is blank")
    assert_error(httpx.get(f"{server.url}/nowhere"), 404, "no route GET /nowhere")
    assert_error(httpx.get(url), 405, "GET is not allowed")


def test_no_index_is_a_clear_404(tiny, start_server) -> None:
    server = start_server({"tiny": tiny})
    response = httpx.post(f"{server.url}/search", json={"query": "q"})
    assert_error(response, 404, "--index DIR")


def test_top_n_larger_than_the_documents_returns_them_all(tiny, start_server) -> None:
    server = start_server({"tiny": tiny})
    body = {"model": "tiny", "query": "q", "documents": DOCS, "top_n": 10}
    response = httpx.post(f"{server.url}/v2/rerank", json=body)
    assert response.status_code == 200
    assert len(response.json()["results"]) == len(DOCS)
