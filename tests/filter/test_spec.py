"""compile_filter: the dict grammar, its $-spellings, validation messages, immutability."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest

from blendrank.errors import FilterError, InvalidInputError
from blendrank.filter import MATCH_ALL, Filter, compile_filter
from blendrank.filter.nodes import And, Condition, Exists, Not, Or

USER_FILTER = {
    "product_line": "enterprise",
    "section": {"in": ["troubleshooting", "installation"]},
    "date": {"gte": "2025-01-01"},
}


def test_empty_and_none_match_all():
    assert compile_filter(None) is MATCH_ALL
    assert compile_filter({}).matches_all
    assert not compile_filter({"a": 1}).matches_all


def test_top_level_keys_are_anded_into_three_conditions():
    root = compile_filter(USER_FILTER).root
    assert isinstance(root, And)
    assert [(c.field, c.op) for c in root.children] == [
        ("product_line", "eq"),
        ("section", "in"),
        ("date", "gte"),
    ]
    assert [v.raw for v in root.children[1].values] == ["troubleshooting", "installation"]


def test_dollar_spellings_compile_to_the_same_tree():
    dollar = {
        "$and": [{"a": {"$in": [1, 2]}}, {"b": {"$exists": True}}],
        "$or": [{"c": {"$ne": "x"}}, {"$not": {"d": {"$gte": 3}}}],
    }
    plain = {
        "and": [{"a": {"in": [1, 2]}}, {"b": {"exists": True}}],
        "or": [{"c": {"ne": "x"}}, {"not": {"d": {"gte": 3}}}],
    }
    assert compile_filter(dollar) == compile_filter(plain)


def test_explicit_eq_equals_implicit_eq():
    assert compile_filter({"lang": {"$eq": "en"}}) == compile_filter({"lang": "en"})


def test_several_operators_on_a_field_are_anded():
    root = compile_filter({"year": {"gte": 2020, "lt": 2025}}).root
    assert isinstance(root, And)
    assert [(c.op, c.values[0].value) for c in root.children] == [("gte", 2020.0), ("lt", 2025.0)]


def test_logical_nodes_and_field_level_not():
    root = compile_filter({"or": [{"a": 1}, {"not": {"b": 2}}], "c": {"not": {"gt": 3}}}).root
    assert isinstance(root, And)
    either, negated = root.children
    assert isinstance(either, Or) and isinstance(either.children[1], Not)
    assert isinstance(negated, Not) and negated.child == Condition("c", "gt", negated.child.values)
    assert compile_filter({"x": {"exists": False}}).root == Exists("x", False)


def test_values_are_classified_and_dates_parsed():
    (value,) = compile_filter({"d": {"gte": "1970-01-02"}}).root.values
    assert (value.kind, value.date_us) == ("string", 86_400_000_000)  # one day in microseconds
    (value,) = compile_filter({"n": 3}).root.values
    assert (value.kind, value.value, value.raw) == ("number", 3.0, 3)
    (value,) = compile_filter({"flag": True}).root.values
    assert value.kind == "boolean"


def test_date_objects_become_iso_strings():
    (value,) = compile_filter({"d": {"lt": date(2025, 1, 1)}}).root.values
    assert value.raw == "2025-01-01"
    (value,) = compile_filter({"d": datetime(2025, 1, 1, 12, 30)}).root.values
    assert value.raw == "2025-01-01T12:30:00"


def test_to_dict_is_canonical_and_round_trips():
    spec = {"$or": [{"a": {"$nin": ["x"]}}, {"b": {"$exists": False}}], "c": {"$lte": 5}}
    compiled = compile_filter(spec)
    assert compiled.to_dict() == {
        "and": [
            {"or": [{"a": {"nin": ["x"]}}, {"b": {"exists": False}}]},
            {"c": {"lte": 5}},
        ]
    }
    assert compile_filter(compiled.to_dict()) == compiled
    assert compile_filter({}).to_dict() == {}


def test_fields_lists_every_mentioned_field():
    spec = {"a": 1, "or": [{"b": 2}, {"not": {"c": {"exists": True}}}]}
    assert compile_filter(spec).fields == {"a", "b", "c"}


def test_filter_is_immutable_and_hashable():
    compiled = compile_filter(USER_FILTER)
    with pytest.raises(dataclasses.FrozenInstanceError):
        compiled.root = And(())  # type: ignore[misc]
    assert hash(compiled) == hash(compile_filter(USER_FILTER))


def test_compile_filter_returns_a_filter_unchanged():
    compiled = compile_filter({"a": 1})
    assert compile_filter(compiled) is compiled
    assert isinstance(compiled, Filter)


def test_unknown_operator_names_operator_field_and_valid_ones():
    with pytest.raises(FilterError) as caught:
        compile_filter({"price": {"$between": [1, 2]}})
    message = str(caught.value)
    assert "'$between'" in message and "'price'" in message
    assert "eq, ne, in, nin, gt, gte, lt, lte, exists" in message


def test_unknown_top_level_dollar_operator():
    with pytest.raises(FilterError, match=r"'\$eq' at the top"):
        compile_filter({"$eq": 5})


def test_filter_errors_are_value_errors():
    with pytest.raises(ValueError):
        compile_filter({"a": {"in": []}})
    assert issubclass(FilterError, InvalidInputError)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"a": {"in": []}}, "non-empty list"),
        ({"a": {"in": "abc"}}, "non-empty list"),
        ({"a": {"nin": 5}}, "non-empty list"),
        ({"a": {"in": [1, None]}}, "exists"),
        ({"a": {"exists": "yes"}}, "true or false"),
        ({"a": {"exists": 1}}, "true or false"),
        ({"a": {"gt": "ten"}}, "number or an ISO date"),
        ({"a": {"gte": True}}, "number or an ISO date"),
        ({"a": {"lt": "20250101"}}, "number or an ISO date"),  # compact form is not a date
        ({"a": {"lt": "2025-02-30"}}, "number or an ISO date"),  # impossible date
        ({"a": None}, "exists"),
        ({"a": ["x", "y"]}, "'in'"),
        ({"a": {"eq": {"b": 1}}}, "string, number or boolean"),
        ({"a": {"eq": float("nan")}}, "NaN"),
        ({"a": {}}, "empty operator dict"),
        ({"a": {"nested": 1}}, "unknown operator 'nested'"),
        ({"and": {"a": 1}}, "non-empty list of filter dicts"),
        ({"or": []}, "non-empty list of filter dicts"),
        ({"or": ["a"]}, "needs a filter dict"),
        ({"not": [{"a": 1}]}, "needs a filter dict"),
        ({"a": {"not": 3}}, "dict of operators"),
        ({1: "a"}, "keys must be strings"),
    ],
)
def test_malformed_filters_are_rejected_with_a_hint(spec, fragment):
    with pytest.raises(FilterError, match=fragment.replace("(", r"\(")):
        compile_filter(spec)


def test_a_non_dict_filter_is_rejected():
    with pytest.raises(FilterError, match="must be a dict"):
        compile_filter([("a", 1)])  # type: ignore[arg-type]


def test_compile_does_not_mutate_the_spec():
    spec = {"a": {"$in": ["x", "y"]}, "$or": [{"b": 1}]}
    snapshot = {"a": {"$in": ["x", "y"]}, "$or": [{"b": 1}]}
    compile_filter(spec)
    assert spec == snapshot
