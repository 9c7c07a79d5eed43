"""MetadataTable: columns, vectorised evaluation, type errors, unknown fields."""

from __future__ import annotations

import time

import numpy as np
import pytest

from blendrank.errors import FilterError, InvalidInputError
from blendrank.filter import MetadataTable, compile_filter, matches

RECORDS = [
    # row 0
    {"product_line": "enterprise", "section": "installation", "date": "2025-02-10", "price": 10},
    # row 1
    {"product_line": "enterprise", "section": "faq", "date": "2025-03-01", "price": 25.5},
    # row 2: no date, a list of sections
    {"product_line": "community", "section": ["troubleshooting", "faq"], "price": 0},
    # row 3: an old document with a datetime
    {"product_line": "enterprise", "section": "troubleshooting", "date": "2024-12-31T23:59:59"},
    # row 4: nothing at all
    {},
]
USER_FILTER = {
    "product_line": "enterprise",
    "section": {"in": ["troubleshooting", "installation"]},
    "date": {"gte": "2025-01-01"},
}


@pytest.fixture(scope="module")
def table() -> MetadataTable:
    return MetadataTable.from_records(RECORDS)


def rows(mask: np.ndarray) -> list[int]:
    return np.flatnonzero(mask).tolist()


def test_shape_fields_and_kinds(table):
    assert len(table) == 5
    assert table.fields == ("date", "price", "product_line", "section")
    assert table.field_kinds() == {
        "date": ("date",),
        "price": ("number",),
        "product_line": ("string",),
        "section": ("string",),
    }


def test_the_users_filter(table):
    # row 0: enterprise, installation, 2025-02-10 -> yes
    # row 1: section faq -> no;  row 2: community -> no;  row 3: date 2024 -> no;  row 4: empty
    mask = table.evaluate(USER_FILTER)
    assert mask.dtype == bool and mask.shape == (5,)
    assert rows(mask) == [0]


@pytest.mark.parametrize(
    ("spec", "expected_rows"),
    [
        ({}, [0, 1, 2, 3, 4]),
        (None, [0, 1, 2, 3, 4]),
        ({"section": "faq"}, [1, 2]),  # row 2 via its list
        ({"section": {"ne": "faq"}}, [0, 3, 4]),  # the list row has faq; the empty row matches
        ({"section": {"nin": ["faq", "installation"]}}, [3, 4]),
        ({"price": {"gte": 10}}, [0, 1]),
        ({"price": {"lt": 10}}, [2]),  # rows 3 and 4 have no price: never in a range
        ({"price": 0}, [2]),
        ({"price": {"ne": 0}}, [0, 1, 3, 4]),
        ({"date": {"lt": "2025-01-01"}}, [3]),  # missing dates are not "earlier"
        ({"date": {"lte": "2025-02-10T00:00:00"}}, [0, 3]),
        ({"date": "2025-03-01T00:00:00Z"}, [1]),
        ({"date": {"exists": False}}, [2, 4]),
        ({"price": {"exists": True}}, [0, 1, 2]),
        ({"or": [{"price": {"gt": 20}}, {"section": "troubleshooting"}]}, [1, 2, 3]),
        ({"not": {"product_line": "enterprise"}}, [2, 4]),
        ({"$and": [{"price": {"$gte": 0}}, {"price": {"$lt": 20}}]}, [0, 2]),
        ({"price": {"gt": 0, "lt": 20}}, [0]),
        ({"section": {"not": {"in": ["faq"]}}}, [0, 3, 4]),
    ],
)
def test_evaluate_cases(table, spec, expected_rows):
    assert rows(table.evaluate(spec)) == expected_rows
    # and the per-record path agrees with the columnar one
    assert [i for i, record in enumerate(RECORDS) if matches(spec, record)] == expected_rows


def test_results_are_fresh_arrays(table):
    first = table.evaluate({"price": {"exists": True}})
    first[:] = False
    assert rows(table.evaluate({"price": {"exists": True}})) == [0, 1, 2]


def test_many_targets_use_a_lookup_table_with_the_same_result():
    records = [
        {"s": f"v{i % 20}", "n": i % 20, "d": f"2025-01-{1 + i % 20:02d}"} for i in range(60)
    ]
    table = MetadataTable.from_records(records)
    wanted = list(range(0, 20, 2))  # 10 targets: above the "a few == passes" cut-off
    for spec in (
        {"s": {"in": [f"v{i}" for i in wanted]}},
        {"n": {"in": wanted}},
        {"d": {"in": [f"2025-01-{1 + i:02d}" for i in wanted]}},
    ):
        assert rows(table.evaluate(spec)) == [i for i in range(60) if i % 2 == 0], spec


def test_booleans_are_kept_apart_from_numbers():
    table = MetadataTable.from_records([{"x": True}, {"x": 1}, {"x": False}, {"x": 0.0}])
    assert table.field_kinds() == {"x": ("boolean", "number")}
    assert rows(table.evaluate({"x": True})) == [0]
    assert rows(table.evaluate({"x": 1})) == [1]
    assert rows(table.evaluate({"x": {"in": [False, 0]}})) == [2, 3]


def test_mixed_dates_and_text_stay_text_but_eq_still_knows_dates():
    table = MetadataTable.from_records(
        [{"when": "2025-01-01T00:00:00"}, {"when": "soon"}, {"when": "2025-01-02"}]
    )
    assert table.field_kinds() == {"when": ("string",)}
    assert rows(table.evaluate({"when": "soon"})) == [1]
    assert rows(table.evaluate({"when": "2025-01-01"})) == [0]  # the same instant
    with pytest.raises(FilterError, match="not all ISO dates"):
        table.evaluate({"when": {"gte": "2025-01-01"}})


def test_list_of_dates_matches_if_any_element_is_in_range():
    table = MetadataTable.from_records(
        [{"seen": ["2023-05-01", "2025-06-01"]}, {"seen": ["2023-01-01"]}, {"seen": []}]
    )
    assert table.field_kinds() == {"seen": ("date",)}
    assert rows(table.evaluate({"seen": {"gte": "2025-01-01"}})) == [0]
    assert rows(table.evaluate({"seen": {"lt": "2024-01-01"}})) == [0, 1]
    assert rows(table.evaluate({"seen": {"exists": True}})) == [0, 1, 2]  # [] is present


def test_mixed_strings_and_numbers_compare_each_with_its_own():
    table = MetadataTable.from_records([{"v": "7"}, {"v": 7}, {"v": [7, "x"]}])
    assert rows(table.evaluate({"v": 7})) == [1, 2]
    assert rows(table.evaluate({"v": "7"})) == [0]
    assert rows(table.evaluate({"v": {"gt": 6}})) == [1, 2]


def test_a_field_with_no_comparable_values_matches_nothing_without_error():
    table = MetadataTable.from_records([{"meta": {"a": 1}}, {"meta": None}])
    assert table.field_kinds() == {"meta": ()}
    assert rows(table.evaluate({"meta": "a"})) == []
    assert rows(table.evaluate({"meta": {"exists": True}})) == [0]


def test_string_value_on_a_numeric_field_says_use_a_number(table):
    with pytest.raises(FilterError) as caught:
        table.evaluate({"price": {"in": [10, "10"]}})
    assert str(caught.value) == (
        "filter field 'price' holds numbers; got string '10' for operator 'in'. Use a number."
    )


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"section": {"gte": 5}}, "holds strings; got number 5 for operator 'gte'. Range"),
        ({"price": {"gte": "2025-01-01"}}, "holds numbers; got date string '2025-01-01'"),
        ({"price": True}, "holds numbers; got boolean True"),
        ({"date": "yesterday"}, "holds ISO dates; got string 'yesterday'"),
        ({"date": 2025}, "Use an ISO date string such as '2025-01-01'"),
        ({"product_line": 3}, "holds strings; got number 3 for operator 'eq'. Use a string."),
    ],
)
def test_type_errors_say_what_the_field_holds(table, spec, fragment):
    with pytest.raises(FilterError) as caught:
        table.evaluate(spec)
    assert fragment in str(caught.value)


def test_unknown_field_suggests_the_closest_and_lists_known_fields(table):
    with pytest.raises(FilterError) as caught:
        table.evaluate({"prodct_line": "enterprise"})
    message = str(caught.value)
    assert "'prodct_line'" in message
    assert "Did you mean 'product_line'?" in message
    assert "known fields: 'date', 'price', 'product_line', 'section'" in message
    assert "strict=False" in message


def test_non_strict_treats_unknown_fields_as_missing(table):
    assert rows(table.evaluate({"lang": "en"}, strict=False)) == []
    assert rows(table.evaluate({"lang": {"ne": "en"}}, strict=False)) == [0, 1, 2, 3, 4]
    assert rows(table.evaluate({"lang": {"exists": False}}, strict=False)) == [0, 1, 2, 3, 4]
    assert rows(table.evaluate({"lang": {"exists": True}}, strict=False)) == []


def test_an_empty_table():
    table = MetadataTable.from_records([])
    assert len(table) == 0 and table.fields == ()
    assert table.evaluate({}).shape == (0,)
    assert table.evaluate({"a": 1}, strict=False).shape == (0,)
    with pytest.raises(FilterError, match="no metadata fields yet"):
        table.evaluate({"a": 1})


def test_none_records_are_empty_and_bad_records_are_rejected():
    table = MetadataTable.from_records([None, {"a": 1}])
    assert rows(table.evaluate({"a": {"exists": False}})) == [0]
    with pytest.raises(InvalidInputError, match="record 1"):
        MetadataTable.from_records([{"a": 1}, ["a", 1]])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="field names must be strings"):
        MetadataTable.from_records([{1: "a"}])  # type: ignore[dict-item]


def test_from_records_does_not_mutate_records():
    records = [{"tags": ["a", "b"], "n": 1}, {"tags": ("c",)}]
    MetadataTable.from_records(records)
    assert records == [{"tags": ["a", "b"], "n": 1}, {"tags": ("c",)}]


def test_evaluate_accepts_a_compiled_filter(table):
    assert rows(table.evaluate(compile_filter(USER_FILTER))) == [0]


@pytest.mark.slow
def test_one_million_rows_three_clauses_in_milliseconds():
    rng = np.random.default_rng(0)
    n = 1_000_000
    lines = np.array(["enterprise", "community", "cloud", "edge"], dtype=object)
    sections = np.array([f"section-{i}" for i in range(50)], dtype=object)
    days = rng.integers(0, 6 * 365, n).astype("timedelta64[D]") + np.datetime64("2020-01-01")
    line_of, section_of, day_of = (
        lines[rng.integers(0, 4, n)],
        sections[rng.integers(0, 50, n)],
        days.astype(str),
    )
    records = [
        {"product_line": a, "section": b, "date": c}
        for a, b, c in zip(line_of.tolist(), section_of.tolist(), day_of.tolist(), strict=True)
    ]
    table = MetadataTable.from_records(records)
    spec = {
        "product_line": "enterprise",
        "section": {"in": ["section-1", "section-2", "section-3"]},
        "date": {"gte": "2025-01-01"},
    }
    compiled = compile_filter(spec)
    table.evaluate(compiled)
    timings = []
    for _ in range(10):
        start = time.perf_counter()
        mask = table.evaluate(compiled)
        timings.append(time.perf_counter() - start)
    expected = (
        (line_of == "enterprise")
        & np.isin(section_of, ["section-1", "section-2", "section-3"])
        & (days >= np.datetime64("2025-01-01"))
    )
    assert np.array_equal(mask, expected)
    assert float(np.median(timings)) < 0.05  # measured ~2 ms; generous for a shared machine
