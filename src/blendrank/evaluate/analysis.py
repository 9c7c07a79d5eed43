"""Error analysis of a reranker against its first stage, query by query.

For each query: the relevant documents the reranker pushed down (from inside the top
``cutoff`` to a worse rank, or out of the list) and the non-relevant documents it pulled
up into the top ``cutoff``, with their ranks before and after and their (truncated) text.
Queries are listed worst first, by the change of the chosen metric.

>>> before = ["d1", "d2", "d3"]; after = ["d3", "d2", "d1"]
>>> qa = rank_changes("q", "query", before, after, {"d1": 1}, cutoff=2)
>>> [(c.doc_id, c.rank_before, c.rank_after) for c in qa.demoted_relevant]
[('d1', 1, 3)]
>>> [(c.doc_id, c.rank_before, c.rank_after) for c in qa.promoted_nonrelevant]
[('d3', 3, 1)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from blendrank.types import Document


@dataclass(frozen=True)
class RankChange:
    """One document's move: 1-based ranks; ``rank_after`` None = no longer in the list.
    ``grade`` is the qrels grade (None = unjudged)."""

    doc_id: str
    grade: int | None
    rank_before: int | None
    rank_after: int | None
    text: str = ""


@dataclass(frozen=True)
class QueryAnalysis:
    query_id: str
    query: str
    delta: float = 0.0
    demoted_relevant: list[RankChange] = field(default_factory=list)
    promoted_nonrelevant: list[RankChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def truncate(text: str, max_chars: int) -> str:
    """``text`` on one line, cut to ``max_chars`` with an ellipsis.

    >>> truncate("a  b\\nc d", 4)
    'a b…'
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= max_chars else flat[: max_chars - 1].rstrip() + "…"


def rank_changes(
    query_id: str,
    query: str,
    before: Sequence[str],
    after: Sequence[str],
    grades: Mapping[str, int],
    *,
    relevance_level: int = 1,
    cutoff: int = 10,
    delta: float = 0.0,
) -> QueryAnalysis:
    """Compare two rankings (doc ids, best first) of one query."""
    rank_before = {d: i for i, d in enumerate(before, start=1)}
    rank_after = {d: i for i, d in enumerate(after, start=1)}
    demoted = []
    for doc_id, r0 in rank_before.items():
        relevant = grades.get(doc_id, 0) >= relevance_level
        r1 = rank_after.get(doc_id)
        if relevant and r0 <= cutoff and (r1 is None or r1 > r0):
            demoted.append(RankChange(doc_id, grades.get(doc_id), r0, r1))
    promoted = []
    for doc_id, new_rank in rank_after.items():
        relevant = grades.get(doc_id, 0) >= relevance_level
        old_rank = rank_before.get(doc_id)
        if not relevant and new_rank <= cutoff and (old_rank is None or old_rank > new_rank):
            promoted.append(RankChange(doc_id, grades.get(doc_id), old_rank, new_rank))
    demoted.sort(key=lambda c: (c.rank_before, c.doc_id))
    promoted.sort(key=lambda c: (c.rank_after, c.doc_id))
    return QueryAnalysis(query_id, query, delta, demoted, promoted)


def analyse_reranker(
    first_stage: Mapping[str, Sequence[tuple[str, float]]],
    reranked: Mapping[str, Sequence[tuple[str, float]]],
    qrels: Mapping[str, Mapping[str, int]],
    queries: Mapping[str, str],
    corpus: Mapping[str, Document],
    deltas: Mapping[str, float],
    *,
    relevance_level: int = 1,
    cutoff: int = 10,
    max_queries: int = 10,
    max_chars: int = 200,
) -> list[QueryAnalysis]:
    """The ``max_queries`` queries the reranker hurt most (most negative ``deltas``, the
    per-query metric change reranked - first stage), each with its rank changes; queries
    it did not hurt are left out."""
    worst = sorted((d, q) for q, d in deltas.items() if d < 0)[:max_queries]
    out = []
    for delta, qid in worst:
        analysis = rank_changes(
            qid,
            queries.get(qid, ""),
            [d for d, _ in first_stage.get(qid, [])],
            [d for d, _ in reranked.get(qid, [])],
            qrels.get(qid, {}),
            relevance_level=relevance_level,
            cutoff=cutoff,
            delta=delta,
        )
        out.append(
            replace(
                analysis,
                demoted_relevant=[
                    _with_text(c, corpus, max_chars) for c in analysis.demoted_relevant
                ],
                promoted_nonrelevant=[
                    _with_text(c, corpus, max_chars) for c in analysis.promoted_nonrelevant
                ],
            )
        )
    return out


def _with_text(change: RankChange, corpus: Mapping[str, Document], max_chars: int) -> RankChange:
    doc = corpus.get(change.doc_id)
    if doc is None:
        return change
    text = f"{doc.title}. {doc.text}" if doc.title else doc.text
    return replace(change, text=truncate(text, max_chars))
