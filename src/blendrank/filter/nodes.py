"""The tree a filter compiles to: immutable nodes, shared by the compiler and both evaluators.

:mod:`~blendrank.filter.spec` builds it, :mod:`~blendrank.filter.record` evaluates it on one
record, :mod:`~blendrank.filter.compare` and :mod:`~blendrank.filter.table` on whole columns.
Imports run one way: ``nodes <- record <- spec <- match, table``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True, slots=True)
class Value:
    """A filter operand: ``raw`` as written, ``kind`` (boolean/number/string), ``value``
    normalised (numbers as float), ``date_us`` set when a string is an ISO date."""

    raw: bool | int | float | str
    kind: str
    value: bool | float | str
    date_us: int | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """``field op values``; ``values`` has one element except for ``in``/``nin``."""

    field: str
    op: str
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Exists:
    field: str
    present: bool


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]  # empty: matches everything


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Union[Condition, Exists, And, Or, Not]  # noqa: UP007 (a runtime alias, used by isinstance-free code)
