"""Metadata filters: the dict form users write, checked once, evaluated per record or per column.

>>> from blendrank.filter import MetadataTable, compile_filter, matches
>>> spec = {"product_line": "enterprise", "section": {"in": ["troubleshooting", "installation"]},
...         "date": {"gte": "2025-01-01"}}
>>> matches(spec, {"product_line": "enterprise", "section": "installation", "date": "2025-03-02"})
True
>>> table = MetadataTable.from_records([{"date": "2024-12-31"}, {"date": "2025-01-01T08:00"}])
>>> table.evaluate({"date": {"gte": "2025-01-01"}}).tolist()
[False, True]
"""

from __future__ import annotations

from blendrank.filter.match import matches
from blendrank.filter.spec import (
    FIELD_OPERATORS,
    LOGICAL_OPERATORS,
    MATCH_ALL,
    Filter,
    compile_filter,
)
from blendrank.filter.table import MetadataTable

__all__ = [
    "FIELD_OPERATORS",
    "LOGICAL_OPERATORS",
    "MATCH_ALL",
    "Filter",
    "MetadataTable",
    "compile_filter",
    "matches",
]
