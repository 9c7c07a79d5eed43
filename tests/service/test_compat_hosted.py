"""pymilvus' hosted rerank functions (Cohere, Voyage, Jina) with the import changed, on
``blendrank serve`` standing in for the providers (it speaks their shapes)."""

from __future__ import annotations

import pytest

from blendrank.compat.pymilvus import (
    CohereRerankFunction,
    JinaRerankFunction,
    RerankResult,
    VoyageRerankFunction,
)
from blendrank.rerank import load_reranker

from .test_hosted_clients import DOCUMENTS, QUERY


@pytest.mark.parametrize(
    "function", [CohereRerankFunction, VoyageRerankFunction, JinaRerankFunction]
)
def test_the_pymilvus_example_returns_the_same_shape(start_server, function):
    bi = load_reranker("bi:all-MiniLM-L6-v2")
    server = start_server({"minilm": bi})
    rf = function(model_name="minilm", api_key="k", base_url=server.url)
    results = rf(QUERY, DOCUMENTS, top_k=3)
    assert len(results) == 3 and all(isinstance(r, RerankResult) for r in results)
    assert results[0].index == 1 and results[0].text == DOCUMENTS[1]
    assert [r.index for r in results] == [r.index for r in bi(QUERY, DOCUMENTS, top_k=3)]
    assert len(rf(QUERY, DOCUMENTS, top_k=10)) == 4
