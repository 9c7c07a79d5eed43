"""Bad values are refused at the boundary, with a message naming the document and field,
and never reach the store: each test is named after the failure it guards against."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from blendrank import Document, Index
from blendrank.errors import FilterError, IngestError, InvalidInputError
from blendrank.ingest import load_documents


@pytest.fixture
def index(tmp_path) -> Index:
    index = Index.create(tmp_path / "idx", embedder=None)
    index.add([Document("ok", "a fine document about agents", metadata={"n": 1})])
    return index


def _unchanged(index: Index) -> None:
    reopened = Index.open(index.path)
    assert [d.id for d in reopened.documents()] == ["ok"]
    assert reopened.search("agents", top_k=1, mode="bm25", filter={"n": {"gte": 0}})


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"n": 10**400}, r"metadata 'n' is an integer outside"),
        ({"n": math.nan}, r"metadata 'n' must be a finite number"),
        ({"n": math.inf}, r"metadata 'n' must be a finite number"),
        ({"n": [1.0, -math.inf]}, r"metadata 'n' must be a finite number"),
        ({"s": "bad \udc80 surrogate"}, r"metadata 's' is not valid Unicode"),
        ({"\udc80": 1}, r"metadata key .* is not valid Unicode"),
        ({"b": b"bytes"}, r"metadata 'b' has unsupported type bytes"),
        ({"s": {1, 2}}, r"metadata 's' has unsupported type set"),
        ({(1, 2): "x"}, r"metadata keys must be strings"),
    ],
)
def test_a_bad_metadata_value_is_refused_and_nothing_is_committed(index, metadata, message):
    with pytest.raises(InvalidInputError, match=message):
        index.add([Document("bad", "text", metadata=metadata)])
    _unchanged(index)


def test_huge_integer_no_longer_breaks_every_filtered_search(index):
    # Before: {"n": 10**400} was committed, then every filtered search raised OverflowError.
    with pytest.raises(InvalidInputError):
        index.add([Document("big", "text", metadata={"n": 10**400})])
    assert index.search("agents", top_k=1, mode="bm25", filter={"n": {"gte": 0}})
    assert index.info()["documents"] == 1


def test_dates_become_iso_strings_as_the_file_readers_do(index):
    when = dt.date(2025, 6, 18)
    index.add([Document("d", "text", metadata={"date": when, "at": [dt.date(2024, 1, 2)]})])
    assert index.get("d").metadata == {"date": "2025-06-18", "at": ["2024-01-02"]}
    assert [
        h.doc_id for h in index.search("text", mode="bm25", filter={"date": {"gte": "2025-01-01"}})
    ]


@pytest.mark.parametrize(
    ("doc_id", "message"),
    [
        ("line\nbreak", r"id 'line\\nbreak' contains a control character"),
        ("tab\there", r"contains a control character"),
        ("nul\x00", r"contains a control character"),
        ("M\udcfcller", r"is not valid Unicode"),
    ],
)
def test_ids_that_could_never_be_read_back_are_refused(index, doc_id, message):
    # Before: ids with a newline could be created in bulk but never read or deleted.
    with pytest.raises(InvalidInputError, match=message):
        index.add([Document(doc_id, "text")])
    _unchanged(index)


@pytest.mark.parametrize("field", ["text", "title"])
def test_lone_surrogates_in_text_are_refused(index, field):
    values = {"text": "fine", "title": ""}
    values[field] = "half a pair \ud800 here"
    with pytest.raises(InvalidInputError, match=rf"document 'x': {field} is not valid Unicode"):
        index.add([Document("x", values["text"], values["title"])])
    _unchanged(index)


def test_a_file_of_deeply_nested_json_is_a_clear_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"_id": "a", "text": "x", "m": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(IngestError, match=r"deep.jsonl:1: .*nested too deeply"):
        list(load_documents([path]))


def test_a_filter_nested_hundreds_deep_is_a_clear_error(index):
    spec: dict = {"n": 1}
    for _ in range(300):
        spec = {"not": spec}
    with pytest.raises(FilterError, match=r"nested more than \d+ levels"):
        index.search("agents", mode="bm25", filter=spec)


def test_a_bm25_index_whose_only_document_has_no_token(tmp_path):
    # Before: "max() arg is an empty sequence" for a first document with no indexable token.
    index = Index.create(tmp_path / "idx", embedder=None)
    index.add([Document("empty", "the a of")])  # stopwords only
    assert index.search("the", mode="bm25") == []
    index.add([Document("word", "agents")])
    index.delete(["word"])
    assert index.search("agents", mode="bm25") == []


def test_nested_metadata_is_flattened_as_the_readers_do(index):
    index.add([Document("n", "text", metadata={"a": {"b": 1}})])
    assert index.get("n").metadata == {"a.b": 1}
    assert json.loads(json.dumps(index.get("n").metadata)) == {"a.b": 1}


def test_a_query_with_a_lone_surrogate_is_a_clear_error(tmp_path):
    # Before: a TypeError from deep inside the tokenizer (HTTP 500).
    index = Index.create(tmp_path / "idx")
    index.add([Document("a", "hello world")])
    with pytest.raises(InvalidInputError, match=r"query is not valid Unicode"):
        index.search("hello \udc80")
    from blendrank.rerank import load_reranker

    with pytest.raises(InvalidInputError, match=r"query is not valid Unicode"):
        load_reranker("bi:all-MiniLM-L6-v2")("q \ud800", ["a"])
    with pytest.raises(InvalidInputError, match=r"documents\[1\] is not valid Unicode"):
        load_reranker("bi:all-MiniLM-L6-v2")("q", ["fine", "bad \udc80"])
