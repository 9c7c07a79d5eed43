"""Operations: /health, /models, /metrics (Prometheus), one JSON log line per request,
the OpenAPI spec, the score cache, and that importing the package stays light."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import httpx
import pytest

from .conftest import metric_value, wait_until

DOCS = ["disk quota exceeded", "port 8443", "restore a backup"]


def test_health_and_models(tiny, kb_index, start_server) -> None:
    server = start_server({"tiny": tiny}, index=kb_index)
    health = httpx.get(f"{server.url}/health").json()
    assert health["status"] == "ok" and health["models"] == ["tiny"]
    assert health["index"]["documents"] == 24 and health["index"]["generation"] >= 1
    models = httpx.get(f"{server.url}/models").json()["models"]
    assert models == [
        {
            "name": "tiny",
            "type": "CrossEncoderReranker",
            "scale": "probability",
            "max_length": 64,
            "batched": True,
        }
    ]


def test_metrics_cover_requests_latency_batches_queue_and_cache(tiny_ce_folder, start_server):
    from blendrank.rerank import LRUScoreCache
    from blendrank.rerank.cross_encoder import CrossEncoderReranker

    cached = CrossEncoderReranker(tiny_ce_folder, threads=1, cache=LRUScoreCache(100))
    server = start_server({"c": cached})
    body = {"model": "c", "query": "quota", "documents": DOCS}
    first = httpx.post(f"{server.url}/v2/rerank", json=body).json()
    second = httpx.post(f"{server.url}/v2/rerank", json=body).json()
    assert second["results"] == first["results"]  # from the cache, same scores
    httpx.post(f"{server.url}/v2/rerank", json={**body, "model": "x"})
    text = httpx.get(f"{server.url}/metrics").text
    route = {"method": "POST", "route": "/v2/rerank"}
    assert metric_value(text, "blendrank_http_requests_total", status="200", **route) == 2
    assert metric_value(text, "blendrank_http_requests_total", status="404", **route) == 1
    assert metric_value(text, "blendrank_http_request_duration_seconds_count", **route) == 3
    assert metric_value(text, "blendrank_rerank_cache_hits_total", model="c") == 3
    assert metric_value(text, "blendrank_rerank_cache_misses_total", model="c") == 3
    assert metric_value(text, "blendrank_rerank_batch_pairs_sum", model="c") == 6
    assert "blendrank_rerank_queue_pairs" in text
    assert "blendrank_http_requests_in_flight" in text


def test_one_json_log_line_per_request(tiny, start_server, caplog) -> None:
    server = start_server({"tiny": tiny})
    with caplog.at_level(logging.INFO, logger="blendrank.service.access"):
        response = httpx.post(
            f"{server.url}/v2/rerank",
            json={"model": "tiny", "query": "q", "documents": DOCS},
            headers={"X-Request-ID": "trace-42"},
        )
        httpx.get(f"{server.url}/nowhere")

        def access_records() -> list[logging.LogRecord]:
            return [r for r in caplog.records if r.name == "blendrank.service.access"]

        # the line is written once the response is sent, so the client can be faster
        wait_until(lambda: len(access_records()) == 2, "two access log lines")
    assert response.headers["x-request-id"] == "trace-42"
    records = access_records()
    fields = [r.fields for r in records]  # type: ignore[attr-defined]
    assert fields[0]["request_id"] == "trace-42" and fields[0]["status"] == 200
    assert fields[0]["route"] == "/v2/rerank" and fields[0]["ms"] >= 0
    assert fields[1]["status"] == 404 and fields[1]["route"] == "unmatched"

    from blendrank.service.server import JsonFormatter

    line = json.loads(JsonFormatter().format(records[0]))
    assert line["event"] == "request" and line["method"] == "POST" and line["level"] == "info"


def test_openapi_spec_lists_every_endpoint(tiny, start_server) -> None:
    server = start_server({"tiny": tiny})
    spec = httpx.get(f"{server.url}/openapi.json").json()
    paths = spec["paths"]
    for path, method in [
        ("/v2/rerank", "post"),
        ("/v1/rerank", "post"),
        ("/rerank", "post"),
        ("/search", "post"),
        ("/documents", "post"),
        ("/documents/{doc_id}", "put"),
        ("/documents/{doc_id}", "get"),
        ("/documents/{doc_id}", "delete"),
        ("/health", "get"),
        ("/metrics", "get"),
    ]:
        assert method in paths[path], (path, method)
    responses = paths["/v2/rerank"]["post"]["responses"]
    assert {"200", "404", "413", "422", "429", "504"} <= set(responses)


def test_importing_the_service_stays_light() -> None:
    code = (
        "import sys, blendrank.service, blendrank.cli.main;"
        "blendrank.cli.main.build_parser();"
        "heavy = [m for m in ('fastapi', 'uvicorn', 'pydantic', 'torch', 'prometheus_client')"
        " if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_serve_needs_something_to_serve() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "blendrank.cli.main", "serve"], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "nothing to serve" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("spec", "name"),
    [("fast=/models/x", "fast"), ("bi:all-MiniLM-L6-v2", "bi:all-MiniLM-L6-v2")],
)
def test_model_names_from_specs(spec: str, name: str) -> None:
    from blendrank.service.registry import model_name

    assert model_name(spec) == name
