"""The filter payload answers every filter exactly as blendrank's own semantics do
(record_matches): equality over list elements and dates as instants, ranges as "any
element", missing fields, NOT pushed down to atoms that need no NOT."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blendrank.backends.filter_keys import filter_payload, matches, to_atoms
from blendrank.errors import FilterError
from blendrank.filter import compile_filter

DATES = ["2025-01-01", "2025-01-01T00:00:00Z", "2025-01-01T01:00:00+01:00", "2024-12-31"]
SCALARS = (
    st.integers(-3, 3)
    | st.sampled_from([0.5, -0.0, 2.0, 1e18])
    | st.booleans()
    | st.sampled_from(["x", "y", "X", 'q" or 1==1 or "', "", *DATES, "9999-12-31T23:59:59.99999"])
)
VALUES = SCALARS | st.lists(SCALARS, max_size=3) | st.none()
FIELDS = st.sampled_from(["a", "b", "d", 'we"ird'])
METADATA = st.dictionaries(FIELDS, VALUES, max_size=4)
#: operands may also be infinite or far dates (stored values are finite: validated)
OPERANDS = SCALARS | st.sampled_from([float("inf"), float("-inf"), "9999-12-31T23:59:59.999999"])
OPERAND = (
    st.dictionaries(
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]), OPERANDS, min_size=1, max_size=2
    )
    | st.fixed_dictionaries({"in": st.lists(SCALARS, min_size=1, max_size=3)})
    | st.fixed_dictionaries({"nin": st.lists(SCALARS, min_size=1, max_size=3)})
    | st.fixed_dictionaries({"exists": st.booleans()})
    | SCALARS
)
LEAF = st.dictionaries(FIELDS, OPERAND, min_size=1, max_size=2)
FILTERS = st.recursive(
    LEAF,
    lambda inner: (
        st.fixed_dictionaries({"and": st.lists(inner, max_size=3)})
        | st.fixed_dictionaries({"or": st.lists(inner, min_size=1, max_size=3)})
        | st.fixed_dictionaries({"not": inner})
    ),
    max_leaves=6,
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FILTERS, st.lists(METADATA, min_size=1, max_size=5))
def test_the_payload_matches_exactly_what_record_matches_does(spec, records):
    try:
        compiled = compile_filter(spec)
    except FilterError:
        return  # e.g. a range on a non-date string: refused before any engine sees it
    atoms = to_atoms(compiled.root)
    for metadata in records:
        assert matches(atoms, filter_payload(metadata)) == compiled.matches(metadata), (
            spec,
            metadata,
        )


@pytest.mark.parametrize(
    ("spec", "metadata", "expected"),
    [
        ({"d": {"gte": "2025-01-01"}}, {"d": "2025-01-01T01:00:00+01:00"}, True),
        ({"d": "2025-01-01"}, {"d": ["2024-01-01", "2025-01-01T00:00:00Z"]}, True),
        ({"a": {"ne": 1}}, {}, True),
        ({"a": {"nin": [1, 2]}}, {"a": [3, 2]}, False),
        ({"not": {"a": {"gt": 1}}}, {"a": "text"}, True),
    ],
)
def test_worked_cases(spec, metadata, expected):
    try:
        compiled = compile_filter(spec)
    except FilterError:
        pytest.skip("not a valid filter")
    assert compiled.matches(metadata) == expected
    assert matches(to_atoms(compiled.root), filter_payload(metadata)) == expected
