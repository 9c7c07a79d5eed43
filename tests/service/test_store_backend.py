"""`blendrank serve --index URI`: the search and document routes over engine stores."""

from __future__ import annotations

import warnings

import httpx
import pytest


@pytest.mark.parametrize("scheme", ["milvus+lite", "qdrant+edge"])
def test_the_service_serves_a_store(tmp_path, start_server, scheme):
    module, extra = {
        "milvus+lite": ("milvus_lite", "milvus"),
        "qdrant+edge": ("qdrant_edge", "qdrant"),
    }[scheme]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip(module, reason=f"{module} (extra {extra!r}) is not installed")
    from blendrank.backends import connect

    uri = f"{scheme}:{tmp_path / 'kb.db'}?collection=kb"
    connect(uri, create=True, embedder=None, chunk_size=32, chunk_overlap=0).close()
    server = start_server({}, index=connect(uri))
    body = {
        "documents": [
            {"id": "a", "text": "cats purr", "metadata": {"s": "pets"}},
            {"id": "b", "text": "dogs bark", "metadata": {"s": "other"}},
        ]
    }
    response = httpx.post(f"{server.url}/documents", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["documents"] == 2
    search = {"query": "cats", "mode": "bm25", "filter": {"s": "pets"}}
    hits = httpx.post(f"{server.url}/search", json=search, timeout=30).json()["hits"]
    assert [h["doc_id"] for h in hits] == ["a"]
    assert httpx.get(f"{server.url}/documents/b", timeout=30).json()["text"] == "dogs bark"
    assert httpx.delete(f"{server.url}/documents/b", timeout=30).status_code == 200
    assert httpx.get(f"{server.url}/documents/b", timeout=30).status_code == 404
    assert httpx.get(f"{server.url}/health", timeout=30).json()["status"] == "ok"
