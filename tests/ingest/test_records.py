"""Record -> Document rules shared by every reader."""

from __future__ import annotations

import datetime as dt

import pytest

from blendrank.errors import IngestError, InvalidInputError
from blendrank.ingest.records import Fields, flatten_metadata, record_to_document
from blendrank.types import Document


def test_beir_record() -> None:
    record = {"_id": "d1", "title": "T", "text": "body", "metadata": {"year": 2020}}
    assert record_to_document(record, Fields(), "f:1") == Document(
        "d1", "body", "T", {"year": 2020}
    )


def test_id_alias_int_id_and_missing_title() -> None:
    doc = record_to_document({"id": 12, "text": "x"}, Fields(), "f:1")
    assert (doc.id, doc.title, doc.metadata) == ("12", "", {})
    # both spellings present: id_field wins and neither leaks into metadata
    doc = record_to_document({"id": "b", "_id": "a", "text": "x"}, Fields(), "f:1")
    assert (doc.id, doc.metadata) == ("a", {})


def test_metadata_object_and_top_level_keys_are_flattened() -> None:
    record = {
        "_id": "d",
        "text": "x",
        "metadata": {"a": {"b": 1, "c": {"d": "deep"}}, "tags": ["x", 2, 3.5]},
        "lang": "en",
        "source": {"url": "u"},
    }
    doc = record_to_document(record, Fields(), "f:1")
    assert doc.metadata == {
        "a.b": 1,
        "a.c.d": "deep",
        "tags": ["x", 2, 3.5],
        "lang": "en",
        "source.url": "u",
    }


def test_dates_become_iso_strings() -> None:
    values = {
        "day": dt.date(2024, 5, 1),
        "moment": dt.datetime(2024, 5, 1, 13, 30),
        "days": [dt.date(2024, 1, 2)],
        "flag": True,
        "none": None,
    }
    assert flatten_metadata(values, "f:1") == {
        "day": "2024-05-01",
        "moment": "2024-05-01T13:30:00",
        "days": ["2024-01-02"],
        "flag": True,
        "none": None,
    }


def test_custom_field_names() -> None:
    fields = Fields(id="doc", text="body", title="heading")
    doc = record_to_document({"doc": "x1", "body": "b", "heading": "h", "_id": "k"}, fields, "f:1")
    # with a custom id field, "_id" is ordinary metadata
    assert doc == Document("x1", "b", "h", {"_id": "k"})


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ({"text": "x"}, "f:3: record has no id field \\('_id' or 'id'\\)"),
        ({"_id": "", "text": "x"}, "id must be a non-empty string or an integer"),
        ({"_id": 1.5, "text": "x"}, "id must be"),
        ({"_id": True, "text": "x"}, "id must be"),
        ({"_id": "d"}, "f:3: document 'd' has no 'text' field"),
        ({"_id": "d", "text": None}, "'text' of document 'd' must be a string, got NoneType"),
        ({"_id": "d", "text": 5}, "must be a string, got int"),
        ({"_id": "d", "text": "x", "title": 3}, "'title' must be a string, got int"),
        ({"_id": "d", "text": "x", "m": [{"a": 1}]}, "metadata 'm' must be a list of strings"),
        ({"_id": "d", "text": "x", "m": [True]}, "metadata 'm' must be a list of strings"),
        ({"_id": "d", "text": "x", "m": [[1]]}, "must be a list of strings or numbers"),
        ({"_id": "d", "text": "x", "metadata": {"k": 1}, "k": 2}, "metadata key 'k' appears twice"),
        ({"_id": "d", "text": "x", "a.b": 1, "a": {"b": 2}}, "metadata key 'a.b' appears twice"),
    ],
)
def test_bad_records(record: dict, fragment: str) -> None:
    with pytest.raises(IngestError, match=fragment):
        record_to_document(record, Fields(), "f:3")


def test_unsupported_metadata_type() -> None:
    with pytest.raises(IngestError, match="unsupported type set"):
        flatten_metadata({"s": {1, 2}}, "f:1")


@pytest.mark.parametrize("names", [("", "text", "title"), ("id", "id", "title"), ("a", "b", "b")])
def test_bad_field_names(names: tuple[str, str, str]) -> None:
    with pytest.raises(InvalidInputError, match="id_field, text_field and title_field"):
        Fields(*names)
