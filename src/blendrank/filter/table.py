"""A columnar store of per-row metadata that evaluates a filter over every row at once.

Semantics are those of :func:`blendrank.filter.match.matches` (the tests check that both
agree on random records and filters). Because the table sees whole columns it also catches
type mistakes that a single record cannot: a string compared with a numeric field, a range
on a text field, a date on a non-date field, or a field name that does not exist.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from blendrank.errors import FilterError, InvalidInputError
from blendrank.filter.columns import Column, build_column
from blendrank.filter.compare import condition_mask
from blendrank.filter.nodes import And, Condition, Exists, Node, Not, Or
from blendrank.filter.spec import Filter, compile_filter


class MetadataTable:
    """Per-row metadata stored column by column; immutable once built.

    Strings are categorical codes (equality is an integer comparison), numbers are float64,
    booleans int8, and a field whose strings are all ISO-8601 dates is a datetime64 column, so
    ``{"date": {"gte": "2025-01-01"}}`` compares instants, not text.

    >>> table = MetadataTable.from_records(
    ...     [{"lang": "en", "year": 2021}, {"lang": "de"}, {"lang": ["en", "fr"], "year": 2024}]
    ... )
    >>> table.evaluate({"lang": "en", "year": {"gte": 2022}}).tolist()
    [False, False, True]
    >>> table.evaluate({"year": {"exists": False}}).tolist()
    [False, True, False]
    """

    __slots__ = ("_columns", "_n_rows")

    def __init__(self, columns: Mapping[str, Column], n_rows: int) -> None:
        self._columns = dict(columns)
        self._n_rows = n_rows

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any] | None]) -> MetadataTable:
        """Build from one metadata dict per row (``None`` counts as an empty dict)."""
        names: dict[str, None] = {}
        for position, record in enumerate(records):
            if record is None:
                continue
            if not isinstance(record, Mapping):
                raise InvalidInputError(
                    f"metadata record {position} must be a dict of field -> value, "
                    f"got {type(record).__name__}"
                )
            names.update(dict.fromkeys(record))
        for name in names:
            if not isinstance(name, str):
                raise InvalidInputError(f"metadata field names must be strings, got {name!r}")
        rows = [{} if record is None else record for record in records]
        columns = {name: build_column(name, [row.get(name) for row in rows]) for name in names}
        return cls(columns, len(rows))

    def __len__(self) -> int:
        return self._n_rows

    def __repr__(self) -> str:
        return f"MetadataTable(rows={self._n_rows}, fields={list(self.fields)})"

    @property
    def fields(self) -> tuple[str, ...]:
        """Field names, sorted."""
        return tuple(sorted(self._columns))

    def field_kinds(self) -> dict[str, tuple[str, ...]]:
        """What each field holds: a subset of ``boolean``, ``number``, ``string``, ``date``.

        >>> MetadataTable.from_records([{"d": "2025-01-01", "n": 1}, {"n": "x"}]).field_kinds()
        {'d': ('date',), 'n': ('number', 'string')}
        """
        return {name: self._columns[name].kinds for name in self.fields}

    def evaluate(
        self, filter: Filter | Mapping[str, Any] | None = None, *, strict: bool = True
    ) -> np.ndarray:
        """Boolean mask of length ``len(self)``: which rows match ``filter``.

        ``strict=True`` raises FilterError for a field no row has (with the closest known
        name); ``strict=False`` treats such a field as missing in every row, for an index that
        is empty or has not yet seen a field.
        """
        compiled = compile_filter(filter)
        if strict:
            unknown = sorted(compiled.fields - self._columns.keys())
            if unknown:
                raise FilterError(self._unknown_field_message(unknown[0]))
        return self._evaluate(compiled.root)

    def _evaluate(self, node: Node) -> np.ndarray:
        n = self._n_rows
        if isinstance(node, Condition):
            column = self._columns.get(node.field)
            if column is None:  # unknown field = missing everywhere
                return np.full(n, node.op in ("ne", "nin"))
            return condition_mask(column, node)
        if isinstance(node, Exists):
            column = self._columns.get(node.field)
            if column is None:
                return np.full(n, not node.present)
            return column.present.copy() if node.present else ~column.present
        if isinstance(node, Not):
            return ~self._evaluate(node.child)
        if isinstance(node, And | Or):
            if not node.children:
                return np.ones(n, dtype=bool)
            combine = np.logical_and if isinstance(node, And) else np.logical_or
            result = self._evaluate(node.children[0])
            for child in node.children[1:]:
                combine(result, self._evaluate(child), out=result)
            return result
        raise TypeError(f"not a filter node: {node!r}")

    def _unknown_field_message(self, name: str) -> str:
        known = self.fields
        if not known:
            listing = "the table has no metadata fields yet"
        else:
            shown = ", ".join(repr(k) for k in known[:20])
            listing = f"known fields: {shown}" + (" ..." if len(known) > 20 else "")
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return (
            f"filter field {name!r} is not in the metadata ({listing}).{hint} "
            f"Pass strict=False to treat unknown fields as missing."
        )
