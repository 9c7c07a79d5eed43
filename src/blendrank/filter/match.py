"""``matches(filter, metadata)``: compile a filter if needed and test one record against it.

The semantics (missing fields, lists, dates) are those of :mod:`blendrank.filter.record`,
shared with :class:`~blendrank.filter.table.MetadataTable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from blendrank.filter.spec import Filter, compile_filter


def matches(filter: Filter | Mapping[str, Any] | None, metadata: Mapping[str, Any]) -> bool:
    """Whether ``metadata`` (one record's flat metadata dict) satisfies ``filter``.

    >>> matches({"tags": "faq", "year": {"gte": 2020}}, {"tags": ["faq", "api"], "year": 2021})
    True
    >>> matches({"date": {"lt": "2025-01-01"}}, {"date": "2024-12-31T23:59:59"})
    True
    >>> matches({"owner": {"ne": "bob"}}, {})
    True
    """
    return compile_filter(filter).matches(metadata)
