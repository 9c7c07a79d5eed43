"""The engines every shared store test runs on (the engine fixtures themselves live in
tests/conftest.py, shared with the contract and service suites)."""

from __future__ import annotations

import pytest

#: every store the shared backend tests run on (fixture names)
STORES = ["milvus-lite", "milvus-server", "qdrant-local", "qdrant-edge", "postgres"]


@pytest.fixture(params=STORES)
def store_uri(request) -> str:
    """A URI for a fresh store on each engine in turn."""
    import uuid

    if request.param == "milvus-lite":
        return request.getfixturevalue("milvus_lite_uri")
    if request.param == "milvus-server":
        server = request.getfixturevalue("milvus_server")
        return f"{server}/kb_{uuid.uuid4().hex[:8]}"
    if request.param == "qdrant-local":
        return request.getfixturevalue("qdrant_local_uri")
    if request.param == "postgres":
        return request.getfixturevalue("postgres_uri")
    return request.getfixturevalue("qdrant_edge_uri")
