"""matches(): the per-record semantics, one hand-checked case per rule."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from blendrank.errors import InvalidInputError
from blendrank.filter import compile_filter, matches

DOC = {
    "product_line": "enterprise",
    "section": "installation",
    "date": "2025-02-10",
    "price": 10,
    "draft": False,
    "tags": ["linux", "gpu"],
    "owner": None,
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, True),
        (None, True),
        ({"product_line": "enterprise"}, True),
        ({"product_line": "community"}, False),
        ({"section": {"in": ["troubleshooting", "installation"]}}, True),
        ({"section": {"nin": ["troubleshooting", "installation"]}}, False),
        ({"section": {"ne": "faq"}}, True),
        ({"date": {"gte": "2025-01-01"}}, True),
        ({"date": {"lt": "2025-02-10"}}, False),
        ({"date": {"lte": "2025-02-10T00:00:00"}}, True),  # the same instant
        ({"date": {"gt": "2025-02-09T23:59:59"}}, True),
        ({"price": {"gte": 10, "lt": 20}}, True),
        ({"price": {"gt": 10}}, False),
        ({"price": 10.0}, True),  # numbers compare as numbers: 10 == 10.0
        ({"price": "10"}, False),  # a string is not a number
        ({"draft": False}, True),
        ({"draft": 0}, False),  # booleans are not numbers
        ({"tags": "gpu"}, True),  # list: ANY element
        ({"tags": {"in": ["cpu", "linux"]}}, True),
        ({"tags": {"ne": "gpu"}}, False),  # list: ne only if NO element equals
        ({"tags": {"nin": ["cpu", "tpu"]}}, True),
        ({"owner": {"exists": False}}, True),  # None counts as missing
        ({"owner": {"exists": True}}, False),
        ({"owner": "bob"}, False),
        ({"owner": {"ne": "bob"}}, True),  # missing matches ne ...
        ({"missing": {"nin": ["a"]}}, True),  # ... and nin
        ({"missing": {"lt": 5}}, False),  # but never a range
        ({"and": [{"price": 10}, {"draft": True}]}, False),
        ({"or": [{"price": 11}, {"draft": False}]}, True),
        ({"not": {"price": 10}}, False),
        ({"price": {"not": {"gt": 50}}}, True),
        ({"$or": [{"tags": {"$in": ["x"]}}, {"section": {"$eq": "installation"}}]}, True),
    ],
)
def test_rules_on_one_record(spec, expected):
    assert matches(spec, DOC) is expected


def test_the_users_filter():
    spec = {
        "product_line": "enterprise",
        "section": {"in": ["troubleshooting", "installation"]},
        "date": {"gte": "2025-01-01"},
    }
    assert matches(spec, DOC)
    assert not matches(spec, {**DOC, "date": "2024-12-31"})
    assert not matches(spec, {**DOC, "section": "faq"})


def test_dates_with_offsets_compare_as_instants():
    # 2025-01-01T01:00+02:00 is 2024-12-31T23:00Z, so it is before midnight UTC
    assert matches({"t": {"lt": "2025-01-01"}}, {"t": "2025-01-01T01:00:00+02:00"})
    assert matches({"t": "2025-01-01T02:00:00+02:00"}, {"t": "2025-01-01"})


def test_date_objects_in_metadata_behave_like_iso_strings():
    assert matches({"d": {"gte": "2025-01-01"}}, {"d": date(2025, 6, 1)})


def test_numpy_scalars_are_numbers_and_booleans():
    assert matches({"n": {"gt": 1}}, {"n": np.int64(2)})
    assert matches({"b": True}, {"b": np.bool_(True)})


def test_nested_values_never_equal_but_exist():
    record = {"meta": {"a": 1}, "grid": [[1, 2]]}
    assert not matches({"grid": 1}, record)
    assert matches({"meta": {"exists": True}}, record)
    assert matches({"meta": {"ne": "x"}}, record)


def test_a_compiled_filter_is_accepted_and_has_a_matches_method():
    compiled = compile_filter({"price": {"lt": 5}})
    assert matches(compiled, {"price": 4})
    assert compiled.matches({"price": 4}) and not compiled.matches({"price": 6})


def test_metadata_must_be_a_mapping():
    with pytest.raises(InvalidInputError, match="metadata must be a dict"):
        matches({"a": 1}, [("a", 1)])  # type: ignore[arg-type]
