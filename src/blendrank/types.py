"""Value types shared by every stage: frozen dataclasses, no behaviour beyond validation."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np

_SCALARS = (str, int, float, bool, type(None))


def copy_metadata(metadata: dict) -> dict:
    """A copy of ``metadata`` that shares no mutable object with it.

    Stored metadata is flat: scalars and lists of scalars (``ingest.records``), so copying
    each list is enough and is several times faster than ``copy.deepcopy``; anything else
    (written by an older version) is deep-copied.

    >>> stored = {"tags": ["a"], "n": 1}
    >>> copied = copy_metadata(stored)
    >>> copied["tags"].append("b"); stored
    {'tags': ['a'], 'n': 1}
    """
    out = {}
    for key, value in metadata.items():
        kind = type(value)
        if kind in _SCALARS:
            out[key] = value
        elif kind is list and all(type(item) in _SCALARS for item in value):
            out[key] = value.copy()
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass(frozen=True, slots=True)
class Document:
    """A source document as ingested: id, body text, optional title, flat metadata."""

    id: str
    text: str
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A token window of a document. ``start``/``end`` are character offsets into
    ``Document.text`` (``text == document.text[start:end]``); ``id`` is ``"<doc_id>#<n>"``."""

    id: str
    doc_id: str
    n: int
    text: str
    start: int
    end: int
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result.

    ``score`` is the final (fused, or reranked) score; ``scores`` and ``ranks`` hold every
    retriever's own score and 1-based rank (``"bm25"``, ``"dense"``, ...; absent when that
    retriever did not return the chunk). ``id`` is the chunk id, or the document id when
    results are collapsed per document.
    """

    id: str
    doc_id: str
    score: float
    text: str
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    chunk_id: str = ""
    start: int = 0
    end: int = 0
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)

    def but(
        self,
        *,
        id: str | None = None,
        score: float | None = None,
        metadata: dict[str, Any] | None = None,
        scores: dict[str, float] | None = None,
        ranks: dict[str, int] | None = None,
    ) -> Hit:
        """A copy with the given fields changed (``dataclasses.replace`` without its
        introspection: rankings copy hits on every stage, so this is on the query path)."""
        return Hit(
            self.id if id is None else id,
            self.doc_id,
            self.score if score is None else score,
            self.text,
            self.title,
            self.metadata if metadata is None else metadata,
            self.chunk_id,
            self.start,
            self.end,
            self.scores if scores is None else scores,
            self.ranks if ranks is None else ranks,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "chunk_id": self.chunk_id,
            "score": self.score,
            "title": self.title,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "metadata": self.metadata,
            "scores": self.scores,
            "ranks": self.ranks,
        }


@dataclass(frozen=True, slots=True)
class RerankResult:
    """A reranked document, shaped as pymilvus returns it (``text``, ``score``, ``index``),
    plus the document id and metadata when the input carried them."""

    text: str
    score: float
    index: int
    id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Query:
    """What every retriever and the pipeline take: the text, an optional metadata filter
    (the dict language of :func:`blendrank.filter.compile_filter`, compiled once here into
    :attr:`expression`) and an optional id (evaluation's query id).

    >>> q = Query("refund policy", {"section": {"in": ["faq"]}}, id="q1")
    >>> q.expression.fields
    frozenset({'section'})
    >>> Query("  ")
    Traceback (most recent call last):
    ...
    blendrank.errors.InvalidInputError: query is empty; pass the text to search for
    """

    text: str
    filter: Mapping[str, Any] | None = None
    id: str | None = None
    expression: Any = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        from blendrank._unicode import require_unicode
        from blendrank.errors import InvalidInputError

        if not isinstance(self.text, str):
            raise InvalidInputError(f"query must be a string, got {type(self.text).__name__}")
        if not self.text.strip():
            raise InvalidInputError("query is empty; pass the text to search for")
        require_unicode(self.text, "query")
        if self.filter is not None and not isinstance(self.filter, Mapping):
            raise InvalidInputError(f"filter must be a dict, got {type(self.filter).__name__}")
        if self.id is not None and not isinstance(self.id, str):
            raise InvalidInputError(f"query id must be a string, got {self.id!r}")
        if self.filter:
            from blendrank.filter.spec import compile_filter

            object.__setattr__(self, "expression", compile_filter(self.filter))

    @classmethod
    def of(cls, query: Query | str, filter: Mapping[str, Any] | None = None) -> Query:
        """``query`` as a Query (a string gets ``filter``; a Query is returned as is)."""
        if isinstance(query, Query):
            if filter:
                from blendrank.errors import InvalidInputError

                raise InvalidInputError("pass the filter inside the Query, not beside it")
            return query
        return cls(query, filter)


class Ranking(Sequence[Hit]):
    """Hits sorted by score, highest first, ties by id ascending: by construction, so
    every stage (retriever, fusion, reranker) hands the next one the same shape.

    ``info`` carries what the stage that made it wants to say (timings, documents split,
    cache hits); it belongs to this result, never to the object that produced it.

    >>> r = Ranking([Hit("b", "b", 1.0, "x"), Hit("a", "a", 1.0, "y"), Hit("c", "c", 2.0, "z")])
    >>> r.ids, r.top(2).ids
    (('c', 'a', 'b'), ('c', 'a'))

    A retriever with thousands of candidates builds it with :meth:`lazy`, so a hit (text,
    metadata copy) is only made for the positions someone reads.
    """

    __slots__ = ("_doc_ids", "_hits", "_ids", "_make", "_scores", "info")

    def __init__(self, hits: Iterable[Hit] = (), info: Mapping[str, Any] | None = None) -> None:
        items = list(hits)
        for hit in items:
            if not isinstance(hit, Hit):
                raise TypeError(f"a Ranking holds Hits, got {type(hit).__name__}")
            if math.isnan(hit.score):
                raise ValueError(f"hit {hit.id!r} has a NaN score; a ranking needs real scores")
        items.sort(key=lambda h: h.id)
        items.sort(key=lambda h: h.score, reverse=True)
        self._hits: list[Hit | None] = list(items)
        self._ids = tuple(h.id for h in items)
        self._doc_ids = tuple(h.doc_id for h in items)
        self._scores = np.array([h.score for h in items], dtype=np.float64)
        self._scores.flags.writeable = False
        self._make: Callable[[int], Hit] | None = None
        self.info: dict[str, Any] = dict(info or {})

    @classmethod
    def lazy(
        cls,
        ids: Sequence[str],
        doc_ids: Sequence[str],
        scores: np.ndarray,
        make_hit: Callable[[int, int], Hit],
        info: Mapping[str, Any] | None = None,
    ) -> Ranking:
        """A ranking of ``len(ids)`` candidates whose hits are built on first access:
        ``make_hit(i, rank)`` returns candidate ``i``'s hit (``rank`` is 1-based). The
        candidates are sorted here (score descending, then id)."""
        values = np.asarray(scores, dtype=np.float64)
        if values.shape != (len(ids),) or len(doc_ids) != len(ids):
            raise ValueError(f"{len(ids)} ids, {len(doc_ids)} doc ids, scores {values.shape}")
        if np.isnan(values).any():
            raise ValueError("a ranking needs real scores; got NaN")
        order = ranked_positions(ids, values)
        self = cls.__new__(cls)
        if order is None:
            self._ids, self._doc_ids = tuple(ids), tuple(doc_ids)
            self._make = lambda p: make_hit(p, p + 1)
        else:
            positions = order.tolist()
            self._ids = tuple(ids[i] for i in positions)
            self._doc_ids = tuple(doc_ids[i] for i in positions)
            values = values[order]
            self._make = lambda p: make_hit(positions[p], p + 1)
        self._scores = values.copy()
        self._scores.flags.writeable = False
        self._hits = [None] * len(self._ids)
        self.info = dict(info or {})
        return self

    @property
    def ids(self) -> tuple[str, ...]:
        return self._ids

    @property
    def doc_ids(self) -> tuple[str, ...]:
        return self._doc_ids

    @property
    def scores(self) -> np.ndarray:
        """Scores in rank order (read-only)."""
        return self._scores

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, position: int) -> Hit: ...

    @overload
    def __getitem__(self, position: slice) -> list[Hit]: ...

    def __getitem__(self, position: int | slice) -> Hit | list[Hit]:
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        hit = self._hits[position]
        if hit is None:
            assert self._make is not None  # only a lazy ranking has empty slots
            p = range(len(self))[position]
            hit = self._hits[p] = self._make(p)
        return hit

    def __iter__(self) -> Iterator[Hit]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        shown = ", ".join(f"{i}={s:.4g}" for i, s in zip(self._ids[:5], self._scores, strict=False))
        return f"Ranking([{shown}{', ...' if len(self) > 5 else ''}], n={len(self)})"

    def top(self, k: int | None) -> Ranking:
        """The best ``k`` (all when ``k`` is None or at least the length); same info."""
        if k is None or k >= len(self):
            return self
        out = Ranking.__new__(Ranking)
        out._ids, out._doc_ids = self._ids[:k], self._doc_ids[:k]
        out._scores = self._scores[:k]
        out._hits = self._hits[:k]
        out._make = self._make  # the first k positions are the same candidates
        out.info = dict(self.info)
        return out

    def per_document(self) -> Ranking:
        """Each document's best hit, with the document id as its id (``chunk_id`` keeps
        the chunk); a ranking already per document is returned as is."""
        first: dict[str, int] = {}
        for position, doc_id in enumerate(self._doc_ids):
            first.setdefault(doc_id, position)
        if len(first) == len(self) and self._ids == self._doc_ids:
            return self
        keep = list(first.values())
        source = self

        def make(i: int, _rank: int) -> Hit:
            hit = source[keep[i]]
            return hit if hit.id == hit.doc_id else hit.but(id=hit.doc_id)

        doc_ids = [self._doc_ids[p] for p in keep]
        return Ranking.lazy(doc_ids, doc_ids, self._scores[keep], make, self.info)


def ranked_positions(ids: Sequence[str], scores: np.ndarray) -> np.ndarray | None:
    """The order sorting candidates by score descending, then id; None when they are
    already in it (checked in one vectorised pass, the common case for a retriever)."""
    if len(scores) < 2:
        return None
    if len(scores) <= 32:  # a short list: plain Python beats numpy's per-call overhead
        values = scores.tolist()
        in_order = all(
            a > b or (a == b and ids[i] < ids[i + 1])
            for i, (a, b) in enumerate(zip(values, values[1:], strict=False))
        )
        if in_order:
            return None
    steps = np.diff(scores)
    if (steps < 0).all():
        return None
    if (steps <= 0).all():
        tied = np.flatnonzero(steps == 0)
        if all(ids[i] < ids[i + 1] for i in tied.tolist()):
            return None
    positions = sorted(range(len(ids)), key=ids.__getitem__)
    positions.sort(key=lambda i: -scores[i])
    return np.asarray(positions, dtype=np.int64)
