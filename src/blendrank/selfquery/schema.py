"""What an index's metadata looks like, for reading filters out of questions: each field's
type, the values of low-cardinality string fields, and which fields hold dates.

>>> schema = MetadataSchema.from_records(
...     [{"product": "cloud", "date": "2025-03-01"}, {"product": "mobile", "date": "2024-01-09"}]
... )
>>> schema.fields["product"].values, schema.date_field
(('cloud', 'mobile'), 'date')
>>> schema.checked({"product": "desktop", "date": {"gte": "2025-01-01"}, "color": "red"})
{'date': {'gte': '2025-01-01'}}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from blendrank.filter.values import parse_iso_date

#: a string field with more distinct values than this is free text (ids, titles), not a
#: dictionary of values to look for in questions
MAX_VALUES = 200
#: longer strings are not looked for either
MAX_VALUE_CHARS = 60
#: preferred names of the date field when an index has several
DATE_NAMES = ("date", "updated", "modified", "published", "created", "timestamp", "time")


@dataclass(frozen=True)
class FieldSchema:
    """One metadata field: ``kind`` is "string", "date", "number", "boolean" or "mixed";
    ``values`` are its distinct strings when it is a low-cardinality string field;
    ``multi``: some records hold a list of values (tags)."""

    name: str
    kind: str
    values: tuple[str, ...] = ()
    distinct: int = 0
    multi: bool = False

    @property
    def categorical(self) -> bool:
        return self.kind == "string" and bool(self.values)


@dataclass(frozen=True)
class MetadataSchema:
    fields: dict[str, FieldSchema]

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any] | None], *, max_values: int = MAX_VALUES
    ) -> MetadataSchema:
        kinds: dict[str, set[str]] = {}
        strings: dict[str, set[str]] = {}
        lists: set[str] = set()
        for record in records:
            for name, value in (record or {}).items():
                if isinstance(value, list):
                    lists.add(name)
                for item in value if isinstance(value, list) else [value]:
                    kind = _kind(item)
                    if kind is None:
                        continue
                    kinds.setdefault(name, set()).add(kind)
                    if kind in ("string", "date"):
                        seen = strings.setdefault(name, set())
                        if len(seen) <= max_values:
                            seen.add(item)
        fields = {}
        for name in sorted(kinds):
            found = kinds[name]
            kind = next(iter(found)) if len(found) == 1 else "mixed"
            seen = strings.get(name, set())
            values: tuple[str, ...] = ()
            if kind == "string" and len(seen) <= max_values:
                values = tuple(sorted(v for v in seen if 0 < len(v) <= MAX_VALUE_CHARS))
            fields[name] = FieldSchema(name, kind, values, len(seen), name in lists)
        return cls(fields)

    @property
    def date_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.kind == "date"]

    @property
    def date_field(self) -> str | None:
        """The field date phrases constrain: the only date field, else the first of
        :data:`DATE_NAMES`, else the first date field by name."""
        dates = self.date_fields
        if len(dates) <= 1:
            return dates[0] if dates else None
        return next((n for n in DATE_NAMES if n in dates), dates[0])

    def describe(self) -> dict[str, Any]:
        """A JSON description (for an LLM prompt, the service, docs)."""
        out: dict[str, Any] = {}
        for f in self.fields.values():
            entry: dict[str, Any] = {"type": f.kind}
            if f.categorical:
                entry["values"] = list(f.values)
            out[f.name] = entry
        return out

    def checked(self, proposed: Any) -> dict[str, Any]:
        """The parts of ``proposed`` (a filter from an LLM, say) that are valid here:
        a known categorical value (or ``{"in": [...]}`` of them) per string field, an ISO
        ``gte``/``lt``/``gt``/``lte`` range per date field. Everything else is dropped, so
        the result is always a valid filter."""
        out: dict[str, Any] = {}
        if not isinstance(proposed, Mapping):
            return out
        for name, condition in proposed.items():
            field = self.fields.get(name) if isinstance(name, str) else None
            if field is None:
                continue
            if field.categorical:
                values = _values(condition)
                kept = sorted({v for v in values if v in field.values})
                if kept:
                    out[name] = kept[0] if len(kept) == 1 else {"in": kept}
            elif field.kind == "date" and isinstance(condition, Mapping):
                bounds = {
                    op: v
                    for op, v in condition.items()
                    if op in ("gte", "gt", "lt", "lte")
                    and isinstance(v, str)
                    and parse_iso_date(v) is not None
                }
                if bounds:
                    out[name] = bounds
        return out


def _values(condition: Any) -> list[str]:
    if isinstance(condition, str):
        return [condition]
    if isinstance(condition, list):
        return [v for v in condition if isinstance(v, str)]
    if isinstance(condition, Mapping):
        for op in ("in", "eq", "$in", "$eq"):
            if op in condition:
                return _values(condition[op])
    return []


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "date" if parse_iso_date(value) is not None else "string"
    return None
