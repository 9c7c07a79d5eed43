"""Micro-batching merges concurrent requests into one model call; a full queue is a 429
with Retry-After; a request not scored in time is a 504; shutdown finishes in-flight work.
The gated model holds a model call open so queue states are observed, never timed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from .conftest import metric_value, running_in_thread, wait_until

QUERIES = [f"question number {i} about disk quotas" for i in range(6)]
DOCS = ["disk quota exceeded", "the agent opens port 8443", "restore a backup"]


def rerank(url: str, query: str, docs: list[str] = DOCS, model: str = "m") -> httpx.Response:
    body = {"model": model, "query": query, "documents": docs}
    return httpx.post(f"{url}/v2/rerank", json=body, timeout=60)


def test_concurrent_requests_share_one_model_call(gated, tiny, start_server) -> None:
    server = start_server({"m": gated}, max_batch_pairs=1000, max_wait_ms=0)
    batcher = server.state.batchers["m"]
    with ThreadPoolExecutor(len(QUERIES)) as pool:
        first = pool.submit(rerank, server.url, QUERIES[0])
        wait_until(lambda: gated.calls == [1], "the first request to reach the model")
        rest = [pool.submit(rerank, server.url, q) for q in QUERIES[1:]]
        wait_until(lambda: batcher.queued_pairs == 5 * len(DOCS), "five requests queued")
        gated.gate.set()
        responses = [first.result(), *(f.result() for f in rest)]
    assert gated.calls == [1, 5]  # the five queued requests were scored in one call
    for query, response in zip(QUERIES, responses, strict=True):
        assert response.status_code == 200
        expected = {r.index: r.score for r in tiny(query, DOCS)}
        for result in response.json()["results"]:
            assert result["relevance_score"] == pytest.approx(expected[result["index"]], abs=1e-5)
    metrics = httpx.get(f"{server.url}/metrics").text
    assert metric_value(metrics, "blendrank_rerank_batch_requests_count", model="m") == 2
    assert metric_value(metrics, "blendrank_rerank_batch_requests_sum", model="m") == 6
    assert metric_value(metrics, "blendrank_rerank_batch_pairs_sum", model="m") == 18
    assert metric_value(metrics, "blendrank_rerank_queue_pairs", model="m") == 0


def test_without_batching_each_request_is_its_own_model_call(gated, start_server) -> None:
    server = start_server({"m": gated}, batching=False)
    batcher = server.state.batchers["m"]
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(rerank, server.url, QUERIES[0])
        wait_until(lambda: gated.calls == [1], "the first request to reach the model")
        rest = [pool.submit(rerank, server.url, q) for q in QUERIES[1:4]]
        wait_until(lambda: batcher.queued_pairs == 3 * len(DOCS), "three requests queued")
        gated.gate.set()
        assert all(f.result().status_code == 200 for f in [first, *rest])
    assert gated.calls == [1, 1, 1, 1]


def test_full_queue_is_429_with_retry_after(gated, start_server) -> None:
    server = start_server({"m": gated}, max_documents=3, max_queue_pairs=4)
    batcher = server.state.batchers["m"]
    with ThreadPoolExecutor(2) as pool:
        running = pool.submit(rerank, server.url, QUERIES[0])
        wait_until(lambda: gated.calls == [1], "a request in the model")
        queued = pool.submit(rerank, server.url, QUERIES[1])
        wait_until(lambda: batcher.queued_pairs == 3, "a request queued")
        refused = rerank(server.url, QUERIES[2])
        gated.gate.set()
        assert running.result().status_code == 200 and queued.result().status_code == 200
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "queue limit 4" in refused.json()["message"]
    metrics = httpx.get(f"{server.url}/metrics").text
    assert metric_value(metrics, "blendrank_rerank_rejected_total", reason="queue_full") == 1


def test_cohere_sdk_sees_the_429(gated, start_server) -> None:
    cohere = pytest.importorskip("cohere")
    server = start_server({"m": gated}, max_documents=3, max_queue_pairs=3)
    client = cohere.ClientV2(api_key="k", base_url=server.url, timeout=30, max_retries=0)
    with running_in_thread(lambda: rerank(server.url, QUERIES[0])) as running:
        wait_until(lambda: gated.calls == [1], "a request in the model")
        with running_in_thread(lambda: rerank(server.url, QUERIES[1])) as queued:
            wait_until(lambda: server.state.batchers["m"].queued_pairs == 3, "a queued request")
            with pytest.raises(cohere.TooManyRequestsError):
                client.rerank(model="m", query="q", documents=DOCS)
            gated.gate.set()
    assert running["result"].status_code == 200 and queued["result"].status_code == 200


def test_request_not_scored_in_time_is_504(gated, start_server) -> None:
    server = start_server({"m": gated}, request_timeout_s=0.2)
    response = rerank(server.url, QUERIES[0])
    assert response.status_code == 504
    assert "--request-timeout" in response.json()["message"]
    gated.gate.set()
    wait_until(lambda: server.state.batchers["m"].queued_pairs == 0, "the queue to drain")


def test_shutdown_finishes_in_flight_requests(gated, start_server) -> None:
    server = start_server({"m": gated})
    with running_in_thread(lambda: rerank(server.url, QUERIES[0])) as in_flight:
        wait_until(lambda: gated.calls == [1], "a request in the model")
        server.server.should_exit = True  # what SIGTERM does
        wait_until(lambda: server.state.closing or server.server.should_exit, "shutdown begun")
        gated.gate.set()
    assert in_flight["result"].status_code == 200
    server.thread.join(timeout=60)
    assert not server.thread.is_alive() and server.state.closing
