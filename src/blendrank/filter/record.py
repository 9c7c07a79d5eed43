"""Evaluate a filter tree against one record's metadata (backends without a columnar table).

Semantics, shared with :class:`~blendrank.filter.table.MetadataTable`:

- a missing field or a ``None`` value is *missing*: it never matches eq/in/range, always
  matches ne/nin, and matches ``{"exists": False}``;
- a list value matches eq/in/range if ANY element does, and ne/nin if NO element matches eq/in;
- booleans are not numbers; numbers compare as floats;
- two strings are equal when they are equal as text or when both are ISO dates of the same
  instant; range operators compare numbers with numbers and ISO dates with ISO dates.

A single record cannot tell what type a field holds elsewhere, so a value of another type
simply does not match here; the table, which sees the whole column, raises FilterError instead.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from blendrank.filter.nodes import And, Condition, Exists, Node, Not, Or, Value
from blendrank.filter.values import NUMBER, STRING, classify, parse_iso_date

_RANGE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def record_matches(node: Node, metadata: Mapping[str, Any]) -> bool:
    """Whether one record's ``metadata`` satisfies the filter tree ``node``."""
    if isinstance(node, Condition):
        return _condition(node, metadata.get(node.field))
    if isinstance(node, Exists):
        return (metadata.get(node.field) is not None) == node.present
    if isinstance(node, And):
        return all(record_matches(child, metadata) for child in node.children)
    if isinstance(node, Or):
        return any(record_matches(child, metadata) for child in node.children)
    if isinstance(node, Not):
        return not record_matches(node.child, metadata)
    raise TypeError(f"not a filter node: {node!r}")


def _elements(value: Any) -> list[tuple[str, Any]]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [classify(element) for element in value]
    return [classify(value)]


def _condition(node: Condition, value: Any) -> bool:
    elements = _elements(value)
    if node.op in ("eq", "in"):
        return _any_equal(elements, node.values)
    if node.op in ("ne", "nin"):
        return not _any_equal(elements, node.values)
    compare, operand = _RANGE[node.op], node.values[0]
    return any(_in_range(element, compare, operand) for element in elements)


def _any_equal(elements: list[tuple[str, Any]], values: tuple[Value, ...]) -> bool:
    return any(_equal(element, value) for element in elements for value in values)


def _equal(element: tuple[str, Any], value: Value) -> bool:
    kind, normalised = element
    if kind != value.kind:
        return False
    if normalised == value.value:
        return True
    return (
        kind == STRING and value.date_us is not None and parse_iso_date(normalised) == value.date_us
    )


def _in_range(element: tuple[str, Any], compare: Callable[[Any, Any], bool], value: Value) -> bool:
    kind, normalised = element
    if value.kind == NUMBER:
        return kind == NUMBER and compare(normalised, value.value)
    if kind != STRING:
        return False
    moment = parse_iso_date(normalised)
    return moment is not None and compare(moment, value.date_us)
