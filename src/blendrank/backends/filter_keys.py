"""blendrank's filter semantics on engines whose expression languages differ (or lack a
NOT): each chunk stores a small *filter payload* next to its metadata, and a filter tree
becomes a combination of three kinds of atoms over it, with no user value ever spliced
into an engine expression.

The payload of one chunk's metadata is a flat mapping:

- ``member_key(kind, field, value) -> 1`` for every element of every field (a list adds
  one key per element; an ISO date string also adds one key for its instant), and
  ``present_key(field) -> 1`` for every field that is not None;
- ``range_key("max"|"min", "number"|"date", field)`` for fields holding numbers or ISO
  dates: the largest and smallest element (a float; dates as integer microseconds).

Keys are 32 hex digits (BLAKE2b of kind, field and value), so an engine sees only hex
keys and float literals. The tree is pushed into negation normal form and every atom,
negated or not, is one comparison whose result on a *missing* key is what blendrank's
semantics say (see :mod:`blendrank.filter.record`):

- ``Member(key, present=True)``: ``payload[key] == 1``; ``present=False``: ``!= 1``, which
  engines evaluate as true on a missing key, as "no element equals" must be;
- ``Bound(key, op, value)``: ``payload[key] op value``, false when missing ("any element
  > v" is "max > v"; "any element < v" is "min < v");
- a negated bound becomes ``Or(Bound(flipped), Member(has-numbers key, False))``.

The same payload serves Milvus (JSON field), Qdrant (payload) and SQL (JSONB), so each
backend answers a filter exactly as the embedded index does; the property test in
``tests/backends`` checks it against :func:`blendrank.filter.record.record_matches`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

from blendrank.filter.nodes import And, Condition, Exists, Node, Not, Or, Value
from blendrank.filter.values import NUMBER, OTHER, STRING, classify, parse_iso_date

_FLIP = {"gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt"}


def _digest(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _canonical(kind: str, value: Any) -> str:
    if kind == NUMBER:
        return repr(float(value) + 0.0)  # -0.0 equals 0.0
    return repr(value) if kind != STRING else value


def member_key(kind: str, field: str, value: Any) -> str:
    """The key an element ``value`` of ``kind`` in ``field`` sets (kind "date": microseconds)."""
    return "m" + _digest("member", kind, field, _canonical(kind, value))[1:]


def present_key(field: str) -> str:
    return "p" + _digest("present", field)[1:]


def range_key(side: str, kind: str, field: str) -> str:
    """The key of the largest (``side="max"``) or smallest number or date in ``field``."""
    return "r" + _digest("range", side, kind, field)[1:]


def has_kind_key(kind: str, field: str) -> str:
    """Set when ``field`` holds at least one number (kind "number") or ISO date ("date")."""
    return "h" + _digest("has", kind, field)[1:]


#: a key no payload ever sets (an empty Or)
NEVER_KEY = "n" + _digest("never")[1:]


def filter_payload(metadata: Mapping[str, Any]) -> dict[str, float | int]:
    """The payload of one chunk's (flat) metadata: see the module docstring.

    >>> payload = filter_payload({"section": "faq", "n": [3, 7]})
    >>> payload[member_key("number", "n", 7)], payload[range_key("max", "number", "n")]
    (1.0, 7.0)
    """
    out: dict[str, float | int] = {}
    for field, raw in metadata.items():
        if raw is None:
            continue
        out[present_key(field)] = 1.0
        elements = raw if isinstance(raw, list | tuple) else [raw]
        bounds: dict[str, list[float | int]] = {"number": [], "date": []}
        for element in elements:
            kind, value = classify(element)
            if kind == OTHER:
                continue
            out[member_key(kind, field, value)] = 1.0
            if kind == NUMBER:
                bounds["number"].append(float(value))
            elif kind == STRING:
                moment = parse_iso_date(value)
                if moment is not None:
                    out[member_key("date", field, moment)] = 1.0
                    bounds["date"].append(moment)  # an int: exact past 2**53 microseconds
        for kind, values in bounds.items():
            if values:
                out[has_kind_key(kind, field)] = 1.0
                out[range_key("max", kind, field)] = max(values)
                out[range_key("min", kind, field)] = min(values)
    return out


def split_payload(metadata: Mapping[str, Any]) -> tuple[list[str], dict[str, float | int]]:
    """The payload as engines with keyword lists hold it (Qdrant, PostgreSQL): the keys
    whose value is 1 as a sorted list (indexable), the range keys with their numbers."""
    payload = filter_payload(metadata)
    members = sorted(k for k in payload if k[0] != "r")
    return members, {k: v for k, v in payload.items() if k[0] == "r"}


@dataclass(frozen=True)
class Member:
    """``payload[key] == 1`` (``present``) or ``!= 1`` (not present, or missing)."""

    key: str
    present: bool


@dataclass(frozen=True)
class Bound:
    """``payload[key] op value``; false when the key is missing."""

    key: str
    op: str  # gt, gte, lt, lte
    value: float | int  # dates: integer microseconds


@dataclass(frozen=True)
class AllOf:
    children: tuple[Atom, ...]  # empty: everything


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Atom, ...]  # empty: nothing


Atom = Union[Member, Bound, AllOf, AnyOf]  # noqa: UP007


def to_atoms(node: Node, negate: bool = False) -> Atom:
    """``node`` (or its negation) in negation normal form over payload atoms."""
    if isinstance(node, Not):
        return to_atoms(node.child, not negate)
    if isinstance(node, And | Or):
        children = tuple(to_atoms(child, negate) for child in node.children)
        conjunction = isinstance(node, And) != negate
        return AllOf(children) if conjunction else AnyOf(children)
    if isinstance(node, Exists):
        return Member(present_key(node.field), node.present != negate)
    return _condition(node, negate)


def _condition(node: Condition, negate: bool) -> Atom:
    if node.op in ("eq", "in", "ne", "nin"):
        keys = [k for value in node.values for k in _value_keys(node.field, value)]
        positive = (node.op in ("eq", "in")) != negate
        members = tuple(Member(key, positive) for key in keys)
        return AnyOf(members) if positive else AllOf(members)
    value = node.values[0]
    operand: float | int
    if value.kind == NUMBER:
        kind, operand = "number", float(value.value)
        if math.isinf(operand):  # stored numbers are finite: all of them, or none, qualify
            everything = (operand > 0) == (node.op in ("lt", "lte"))
            has = Member(has_kind_key(kind, node.field), True)
            atom: Atom = has if everything else AnyOf(())
            if not negate:
                return atom
            return Member(has.key, False) if everything else AllOf(())
    else:
        kind, operand = "date", int(value.date_us)  # type: ignore[arg-type]  # compiled so
    side = "max" if node.op in ("gt", "gte") else "min"
    bound = Bound(range_key(side, kind, node.field), node.op, operand)
    if not negate:
        return bound
    flipped = Bound(bound.key, _FLIP[node.op], operand)
    return AnyOf((flipped, Member(has_kind_key(kind, node.field), False)))


def _value_keys(field: str, value: Value) -> list[str]:
    keys = [member_key(value.kind, field, value.value)]
    if value.kind == STRING and value.date_us is not None:
        keys.append(member_key("date", field, value.date_us))
    return keys


def matches(atom: Atom, payload: Mapping[str, float | int]) -> bool:
    """Evaluate ``atom`` on one payload (the reference the engine renderings must equal)."""
    if isinstance(atom, Member):
        return (payload.get(atom.key) == 1.0) == atom.present
    if isinstance(atom, Bound):
        have = payload.get(atom.key)
        if have is None:
            return False
        return {
            "gt": have > atom.value,
            "gte": have >= atom.value,
            "lt": have < atom.value,
            "lte": have <= atom.value,
        }[atom.op]
    if isinstance(atom, AllOf):
        return all(matches(child, payload) for child in atom.children)
    return any(matches(child, payload) for child in atom.children)
