"""How metadata values and filter values are classified: booleans, numbers, strings, ISO dates.

Both the per-record matcher and the columnar table use these functions, so that a value is
read the same way on both paths (the basis of "vectorised and per-record results agree").
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import numpy as np

BOOLEAN = "boolean"
NUMBER = "number"
STRING = "string"
OTHER = "other"  # dicts, nested lists, objects: stored as "present" but never equal to anything

# Extended ISO-8601 only (YYYY-MM-DD, optional time and offset). The compact form 20250101 is
# deliberately not a date: product codes and ids of eight digits would otherwise turn into dates.
_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_iso_date_uncached(text: str) -> int | None:
    """Microseconds since 1970-01-01T00:00Z for an ISO-8601 date or datetime string, else None.

    A date is midnight; a datetime without an offset is read as UTC; one with an offset is
    converted to UTC, so ``"2025-01-01T02:00+02:00"`` equals ``"2025-01-01"``.

    >>> parse_iso_date_uncached("1970-01-02")
    86400000000
    >>> parse_iso_date_uncached("release 3") is None
    True
    """
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:  # well-formed but impossible, e.g. 2025-02-30
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


parse_iso_date = lru_cache(maxsize=65_536)(parse_iso_date_uncached)


def classify(value: Any) -> tuple[str, Any]:
    """``(kind, normalised value)`` of one scalar metadata value.

    Booleans stay booleans (never numbers); ints and floats become float; ``date`` and
    ``datetime`` objects become their ISO string, so they behave exactly like ISO strings.

    >>> classify(True), classify(3), classify("a")
    (('boolean', True), ('number', 3.0), ('string', 'a'))
    """
    kind = type(value)
    if kind is str:
        return STRING, value
    if kind is bool or isinstance(value, np.bool_):
        return BOOLEAN, bool(value)
    if kind is int or kind is float or isinstance(value, int | float | np.integer | np.floating):
        return NUMBER, float(value)
    if isinstance(value, datetime | date):
        return STRING, value.isoformat()
    return OTHER, None


def describe_value(value: Any) -> str:
    """How an error message names a filter value: ``string '10'``, ``number 5``, ..."""
    kind, _ = classify(value)
    if kind == STRING:
        text = value if isinstance(value, str) else value.isoformat()
        noun = "date string" if parse_iso_date(text) is not None else "string"
        return f"{noun} {text!r}"
    if kind == OTHER:
        return f"{type(value).__name__} {value!r}"
    return f"{kind} {value!r}"
