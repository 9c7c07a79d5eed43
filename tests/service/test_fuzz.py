"""Schemathesis against the server's own OpenAPI spec: generated requests (valid and
invalid) never get a 5xx, and every response matches the documented status codes,
content types and schemas. Bounded: a few examples per operation, derandomized."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
hypothesis = pytest.importorskip("hypothesis")

EXAMPLES = {"positive": 10, "negative": 5}


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_openapi_fuzzing_finds_no_5xx_and_no_schema_violation(
    mode, bm25_index, tiny, start_server
) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    server = start_server(
        {"tiny": tiny}, index=bm25_index, max_documents=20, max_document_chars=2000
    )
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    generation = schemathesis.GenerationMode(mode)
    statuses: dict[str, set[int]] = {}
    for operation in operations:

        @hypothesis.settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        @hypothesis.given(case=operation.as_strategy(generation))
        def check(case) -> None:
            if mode == "positive":
                name_a_served_model(case)
            response = case.call_and_validate(base_url=server.url, checks=checks, timeout=30)
            statuses.setdefault(case.operation.label, set()).add(response.status_code)

        try:
            check()
        except hypothesis.errors.Unsatisfiable:
            # nothing in this operation can be made invalid (no body, no parameters, or
            # only a free-form string path parameter)
            assert mode == "negative", operation.label
    if mode == "positive":  # valid requests were really scored, searched and stored
        for label in ("POST /v2/rerank", "POST /v1/rerank", "POST /rerank", "POST /search"):
            assert 200 in statuses[label], (label, statuses[label])
        assert 200 in statuses["PUT /documents/{doc_id}"]


def name_a_served_model(case) -> None:
    """Random model names only ever meet the 404 path (tested elsewhere); name the
    served one so that valid bodies reach the model."""
    body = case.body
    if isinstance(body, dict):
        if "model" in body:
            body["model"] = "tiny"
        if body.get("rerank") is not None:
            body["rerank"] = "tiny"
        # so do random retriever names (a 400 listing the index's, tested elsewhere): name
        # the one this BM25 index has
        if body.get("retrievers") is not None:
            body["retrievers"] = ["bm25"]
        if isinstance(body.get("weights"), dict):
            values = list(body["weights"].values())
            body["weights"] = {"bm25": values[0]} if values else {}
