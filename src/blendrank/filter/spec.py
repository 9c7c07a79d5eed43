"""The filter language: the dict form users write, validated once into an immutable tree.

Grammar (every operator may also be spelled with a ``$`` prefix, Mongo/Chroma/Qdrant style)::

    filter  := {}                                    # matches everything
             | {field: value, ...}                   # eq, implicit when value is not a dict
             | {field: {op: value, ...}, ...}        # several operators on a field are ANDed
             | {"and": [filter, ...]} | {"or": [filter, ...]} | {"not": filter}
    op      := eq | ne | in | nin | gt | gte | lt | lte | exists | not (a dict of operators)

Several top-level keys are ANDed. ``and``, ``or`` and ``not`` are reserved at the top level,
so a metadata field cannot be called that.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from blendrank.errors import FilterError, InvalidInputError
from blendrank.filter.nodes import And, Condition, Exists, Node, Not, Or, Value
from blendrank.filter.record import record_matches
from blendrank.filter.values import BOOLEAN, NUMBER, OTHER, STRING, classify, parse_iso_date

EQUALITY_OPERATORS = ("eq", "ne", "in", "nin")
RANGE_OPERATORS = ("gt", "gte", "lt", "lte")
FIELD_OPERATORS = (*EQUALITY_OPERATORS, *RANGE_OPERATORS, "exists", "not")
LOGICAL_OPERATORS = ("and", "or", "not")

_VALID_FIELD_OPS = ", ".join(FIELD_OPERATORS)


@dataclass(frozen=True, slots=True)
class Filter:
    """A validated, immutable metadata filter. Build it with :func:`compile_filter`.

    >>> f = compile_filter({"lang": "en", "year": {"gte": 2020}})
    >>> f.matches({"lang": "en", "year": 2024}), f.matches({"lang": "de", "year": 2024})
    (True, False)
    >>> sorted(f.fields)
    ['lang', 'year']
    """

    root: Node

    @property
    def matches_all(self) -> bool:
        """True for the empty filter, which selects every row."""
        return self.root == And(())

    @property
    def fields(self) -> frozenset[str]:
        """Every metadata field the filter mentions."""
        return frozenset(_fields(self.root))

    def matches(self, metadata: Mapping[str, Any]) -> bool:
        """Whether one record's metadata satisfies the filter (semantics in
        :mod:`blendrank.filter.record`)."""
        if not isinstance(metadata, Mapping):
            raise InvalidInputError(
                f"metadata must be a dict of field -> value, got {type(metadata).__name__}"
            )
        return record_matches(self.root, metadata)

    def to_dict(self) -> dict[str, Any]:
        """The canonical dict form (operators without ``$``); ``compile_filter`` of it is equal."""
        return _to_dict(self.root)


MATCH_ALL = Filter(And(()))


def compile_filter(spec: Filter | Mapping[str, Any] | None) -> Filter:
    """Validate a filter dict into an immutable :class:`Filter`; ``None`` and ``{}`` match all.

    Raises :class:`~blendrank.errors.FilterError` naming the operator, the field and what to
    write instead.

    >>> compile_filter({"section": {"$in": ["faq", "install"]}}).to_dict()
    {'section': {'in': ['faq', 'install']}}
    >>> compile_filter({"price": {"between": [1, 2]}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    blendrank.errors.FilterError: unknown operator 'between' for field 'price'; valid operators: ...
    """
    if spec is None:
        return MATCH_ALL
    if isinstance(spec, Filter):
        return spec
    if not isinstance(spec, Mapping):
        raise FilterError(
            f"a filter must be a dict such as {{'lang': 'en'}}, got {type(spec).__name__}"
        )
    return Filter(_compile_mapping(spec, where="the filter"))


def _strip(key: str) -> str:
    return key[1:] if key.startswith("$") else key


#: and / or / not nest at most this deep (deeper is a FilterError, not a RecursionError)
MAX_FILTER_DEPTH = 32


def _compile_mapping(spec: Mapping[str, Any], where: str, depth: int = 1) -> Node:
    if depth > MAX_FILTER_DEPTH:
        raise FilterError(
            f"the filter is nested more than {MAX_FILTER_DEPTH} levels deep (and / or / not); "
            "flatten it, e.g. not(not(x)) is x and nested and-lists can be one list"
        )
    clauses: list[Node] = []
    for key, value in spec.items():
        if not isinstance(key, str):
            raise FilterError(f"filter keys must be strings; got {key!r} in {where}")
        name = _strip(key)
        if name in ("and", "or"):
            clauses.append(_compile_logical(key, value, depth))
        elif name == "not":
            clauses.append(Not(_compile_sub_filter(key, value, depth)))
        elif key.startswith("$"):
            raise FilterError(
                f"unknown operator {key!r} at the top of {where}; only $and, $or and $not "
                f"stand alone, field operators go inside a field: {{'field': {{{key!r}: ...}}}}"
            )
        else:
            clauses.extend(_compile_field(key, value))
    return clauses[0] if len(clauses) == 1 else And(tuple(clauses))


def _compile_sub_filter(key: str, value: Any, depth: int) -> Node:
    if not isinstance(value, Mapping):
        raise FilterError(
            f"operator {key!r} needs a filter dict, e.g. {{{key!r}: {{'lang': 'en'}}}}; "
            f"got {type(value).__name__} {value!r}"
        )
    return _compile_mapping(value, where=f"{key!r}", depth=depth + 1)


def _compile_logical(key: str, value: Any, depth: int) -> Node:
    if isinstance(value, Mapping) or not isinstance(value, list | tuple) or not value:
        raise FilterError(
            f"operator {key!r} needs a non-empty list of filter dicts, e.g. "
            f"{{{key!r}: [{{'lang': 'en'}}, {{'year': 2024}}]}}; got {value!r}"
        )
    children = tuple(_compile_sub_filter(key, item, depth) for item in value)
    return And(children) if _strip(key) == "and" else Or(children)


def _compile_field(field: str, spec: Any) -> list[Node]:
    if not isinstance(spec, Mapping):
        return [Condition(field, "eq", (_scalar(spec, field, "eq"),))]
    if not spec:
        raise FilterError(
            f"field {field!r} has an empty operator dict; write e.g. {{{field!r}: {{'eq': ...}}}} "
            f"or remove the field"
        )
    nodes: list[Node] = []
    for key, operand in spec.items():
        op = _strip(key) if isinstance(key, str) else key
        if op not in FIELD_OPERATORS:
            raise FilterError(
                f"unknown operator {key!r} for field {field!r}; valid operators: "
                f"{_VALID_FIELD_OPS} (a '$' prefix is also accepted)"
            )
        nodes.append(_compile_operator(field, op, key, operand))
    return nodes


def _compile_operator(field: str, op: str, key: str, operand: Any) -> Node:
    if op == "not":
        if not isinstance(operand, Mapping):
            raise FilterError(
                f"operator {key!r} on field {field!r} needs a dict of operators, e.g. "
                f"{{{field!r}: {{{key!r}: {{'gt': 5}}}}}}; got {operand!r}"
            )
        inner = _compile_field(field, operand)
        return Not(inner[0] if len(inner) == 1 else And(tuple(inner)))
    if op == "exists":
        if not isinstance(operand, bool):
            raise FilterError(
                f"operator {key!r} on field {field!r} needs true or false; got {operand!r}"
            )
        return Exists(field, operand)
    if op in ("in", "nin"):
        if not isinstance(operand, list | tuple) or not operand:
            raise FilterError(
                f"operator {key!r} on field {field!r} needs a non-empty list of values, "
                f"e.g. {{{field!r}: {{{key!r}: ['a', 'b']}}}}; got {operand!r}"
            )
        return Condition(field, op, tuple(_scalar(item, field, op) for item in operand))
    if op in RANGE_OPERATORS:
        return Condition(field, op, (_range_operand(operand, field, op),))
    return Condition(field, op, (_scalar(operand, field, op),))


def _scalar(raw: Any, field: str, op: str) -> Value:
    if raw is None:
        raise FilterError(
            f"field {field!r}: operator {op!r} got None; to match rows without the field write "
            f"{{{field!r}: {{'exists': False}}}}"
        )
    if isinstance(raw, list | tuple):
        raise FilterError(
            f"field {field!r}: operator {op!r} got a list {raw!r}; to match any of several "
            f"values write {{{field!r}: {{'in': {list(raw)!r}}}}}"
        )
    kind, value = classify(raw)
    if kind == OTHER:
        raise FilterError(
            f"field {field!r}: operator {op!r} needs a string, number or boolean; "
            f"got {type(raw).__name__} {raw!r}"
        )
    if kind == NUMBER and math.isnan(value):
        raise FilterError(f"field {field!r}: operator {op!r} got NaN, which equals nothing")
    if isinstance(raw, datetime | date):
        raw = value  # keep the ISO string, so to_dict() round-trips
    date_us = parse_iso_date(value) if kind == STRING else None
    return Value(raw=raw, kind=kind, value=value, date_us=date_us)


def _range_operand(raw: Any, field: str, op: str) -> Value:
    value = _scalar(raw, field, op)
    if value.kind == BOOLEAN or (value.kind == STRING and value.date_us is None):
        raise FilterError(
            f"field {field!r}: operator {op!r} needs a number or an ISO date string such as "
            f"'2025-01-01'; got {value.kind} {value.raw!r}"
        )
    return value


def _fields(node: Node) -> set[str]:
    if isinstance(node, Condition | Exists):
        return {node.field}
    if isinstance(node, Not):
        return _fields(node.child)
    return set().union(*(_fields(child) for child in node.children))


def _to_dict(node: Node) -> dict[str, Any]:
    if isinstance(node, Condition):
        raws = [v.raw for v in node.values]
        return {node.field: {node.op: raws if node.op in ("in", "nin") else raws[0]}}
    if isinstance(node, Exists):
        return {node.field: {"exists": node.present}}
    if isinstance(node, Not):
        return {"not": _to_dict(node.child)}
    if isinstance(node, And) and not node.children:
        return {}
    return {"and" if isinstance(node, And) else "or": [_to_dict(c) for c in node.children]}
