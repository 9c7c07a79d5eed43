"""Evaluate a filter against one record's metadata (backends without a columnar table, tests).

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

from blendrank.errors import InvalidInputError
from blendrank.filter.spec import (
    And,
    Condition,
    Exists,
    Filter,
    Node,
    Not,
    Or,
    Value,
    compile_filter,
)
from blendrank.filter.values import NUMBER, STRING, classify, parse_iso_date

_RANGE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def matches(filter: Filter | Mapping[str, Any] | None, metadata: Mapping[str, Any]) -> bool:
    """Whether ``metadata`` (one record's flat metadata dict) satisfies ``filter``.

    >>> matches({"tags": "faq", "year": {"gte": 2020}}, {"tags": ["faq", "api"], "year": 2021})
    True
    >>> matches({"date": {"lt": "2025-01-01"}}, {"date": "2024-12-31T23:59:59"})
    True
    >>> matches({"owner": {"ne": "bob"}}, {})
    True
    """
    compiled = compile_filter(filter)
    if not isinstance(metadata, Mapping):
        raise InvalidInputError(
            f"metadata must be a dict of field -> value, got {type(metadata).__name__}"
        )
    return _match(compiled.root, metadata)


def _match(node: Node, metadata: Mapping[str, Any]) -> bool:
    if isinstance(node, Condition):
        return _condition(node, metadata.get(node.field))
    if isinstance(node, Exists):
        return (metadata.get(node.field) is not None) == node.present
    if isinstance(node, And):
        return all(_match(child, metadata) for child in node.children)
    if isinstance(node, Or):
        return any(_match(child, metadata) for child in node.children)
    if isinstance(node, Not):
        return not _match(node.child, metadata)
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
