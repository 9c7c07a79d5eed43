"""Property test over HTTP (hypothesis): random documents, ids and metadata sent as JSON,
NaN, Infinity, 400-digit numbers and lone-surrogate escapes included, never get a 5xx, and
a refused write leaves the served index as it was. ``BLENDRANK_FUZZ_EXAMPLES`` raises the
number of cases (``bench/fuzz_service.py`` runs 10,000)."""

from __future__ import annotations

import json
import os
import urllib.parse

import httpx
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis (extra 'test') is not installed")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = int(os.environ.get("BLENDRANK_FUZZ_EXAMPLES", "100"))
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=10)
CLEAN_TEXT = st.text(st.characters(categories=["L", "N", "Zs"]), max_size=10)
NUMBERS = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400, "0.5", "7"])
# JSON literals, so that what json.dumps refuses to write (NaN, 1e400) is sent too
VALUES = st.recursive(
    st.none().map(json.dumps)
    | st.booleans().map(json.dumps)
    | NUMBERS
    | (CLEAN_TEXT | ANY_TEXT).map(json.dumps),
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda items: "[" + ",".join(items) + "]")
        | st.dictionaries(CLEAN_TEXT.map(json.dumps), inner, max_size=2).map(
            lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"
        )
    ),
    max_leaves=5,
)
METADATA = st.dictionaries((CLEAN_TEXT | ANY_TEXT).map(json.dumps), VALUES, max_size=3).map(
    lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    doc_id=CLEAN_TEXT | ANY_TEXT,
    text=(CLEAN_TEXT | ANY_TEXT).map(json.dumps),
    metadata=METADATA,
)
def test_random_documents_over_http_never_get_a_5xx(bm25_server, doc_id, text, metadata):
    url = bm25_server.url
    path = urllib.parse.quote(doc_id.encode("utf-8", "surrogatepass"), safe="")
    before = httpx.get(f"{url}/health").json()["index"]
    body = '{"text": ' + text + ', "metadata": ' + metadata + "}"
    response = httpx.put(
        f"{url}/documents/{path}", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code < 500, response.text
    after = httpx.get(f"{url}/health").json()["index"]
    if response.status_code != 200:
        assert after == before  # nothing was committed
        return
    stored = httpx.get(f"{url}/documents/{path}")
    assert stored.status_code == 200, stored.text
    assert httpx.delete(f"{url}/documents/{path}").status_code == 200


@pytest.fixture(scope="module")
def bm25_server(tmp_path_factory):
    from blendrank import Document, Index
    from blendrank.service import ServiceConfig, create_app

    from .conftest import LiveServer

    index = Index.create(tmp_path_factory.mktemp("fuzz") / "idx", embedder=None)
    index.add([Document("baseline", "agents and backups")])
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = LiveServer(create_app({}, index=index, config=ServiceConfig()), port).start()
    yield server
    server.stop()
