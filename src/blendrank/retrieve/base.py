"""The retriever protocol: anything with a ``name`` and ``retrieve(query, k) -> Ranking``
is a first stage (the embedded index's BM25 and dense retrievers, :class:`HybridRetriever`,
an external engine). Subclass :class:`RetrieverBase` to get ``retrieve_many`` for free.

>>> from blendrank.types import Hit, Query, Ranking
>>> class Titles(RetrieverBase):
...     name = "titles"
...     def retrieve(self, query, k):
...         hits = [Hit(t, t, float(query.text in t), t) for t in ("cat food", "dog food")]
...         return Ranking(hits).top(check_k(k))
>>> Titles().retrieve(Query("cat"), 1).ids
('cat food',)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from blendrank.errors import InvalidInputError
from blendrank.types import Query, Ranking


@runtime_checkable
class Retriever(Protocol):
    """A first stage. ``retrieve`` returns at most ``k`` hits matching ``query.filter``,
    sorted (a :class:`~blendrank.types.Ranking`); ``info["complete"]`` is True when no
    further match exists beyond those returned (a caller may then stop asking deeper)."""

    name: str

    def retrieve(self, query: Query, k: int) -> Ranking: ...

    def retrieve_many(self, queries: Sequence[Query], k: int) -> list[Ranking]: ...


class RetrieverBase:
    """Base with the batch method built on :meth:`retrieve` (override it when a batch is
    cheaper than its parts, e.g. embedding all queries at once)."""

    name: str = "retriever"

    def retrieve(self, query: Query, k: int) -> Ranking:
        raise NotImplementedError(f"{type(self).__name__} must implement retrieve(query, k)")

    def retrieve_many(self, queries: Sequence[Query], k: int) -> list[Ranking]:
        return [self.retrieve(query, k) for query in queries]


def check_k(k: object) -> int:
    """``k`` as a positive int, or a clear error."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise InvalidInputError(f"k must be an integer, got {k!r}")
    if k < 1:
        raise InvalidInputError(f"k must be >= 1, got {k}")
    return k
