"""Hard negatives mined with blendrank's own first stage.

For each training query the first stage (BM25, dense or hybrid) retrieves ``depth``
documents; those not judged relevant become hard negatives, ranked. Guards against false
negatives: a judged-relevant document (any grade > 0) is never a negative, the top
``skip_top`` ranks can be skipped, and candidates that are near-duplicates of a positive
(token Jaccard >= ``duplicate_threshold``) are dropped. Random negatives from the corpus
are added by the sampler (``sample_group``).

>>> mined = mine_negatives(training_set, retriever="bm25", depth=50)   # doctest: +SKIP
>>> mined.negatives["q1"][:3]                                         # doctest: +SKIP
['d17', 'd4', 'd90']
"""

from __future__ import annotations

import random
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blendrank.errors import InvalidInputError
from blendrank.train.data import TrainingQuery, TrainingSet

RETRIEVERS = ("bm25", "dense", "hybrid", "none")
_WORD = re.compile(r"\w+")


@dataclass
class MinedNegatives:
    """Per query: hard negatives best first, and the first-stage candidates (for
    validation reranking), plus counts of what the guards removed."""

    negatives: dict[str, list[str]]
    candidates: dict[str, list[str]] = field(default_factory=dict)
    dropped_relevant: int = 0
    dropped_duplicates: int = 0
    retriever: str = "none"


def _tokens(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def jaccard(a: set[str], b: set[str]) -> float:
    """Token-set Jaccard similarity.

    >>> jaccard({"a", "b"}, {"b", "c"})
    0.3333333333333333
    """
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _check(retriever: str, depth: int, skip_top: int, threshold: float) -> None:
    if retriever not in RETRIEVERS:
        raise InvalidInputError(f"retriever must be one of {RETRIEVERS}, got {retriever!r}")
    for name, value, low in (("depth", depth, 1), ("skip_top", skip_top, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidInputError(f"{name} must be an integer >= {low}, got {value!r}")
    if not 0 < threshold <= 1:
        raise InvalidInputError(f"duplicate_threshold must be in (0, 1], got {threshold}")


def mine_negatives(
    data: TrainingSet,
    *,
    retriever: str = "hybrid",
    depth: int = 50,
    skip_top: int = 0,
    duplicate_threshold: float = 0.9,
    index: Any = None,
    embedder: Any = "all-MiniLM-L6-v2",
    progress: bool = False,
) -> MinedNegatives:
    """Mine hard negatives for every query of ``data``.

    ``index``: an open :class:`~blendrank.Index` (or its path) over the same corpus to
    search; without one a temporary index is built (BM25 only for ``retriever="bm25"``).
    """
    _check(retriever, depth, skip_top, duplicate_threshold)
    if retriever == "none":
        return MinedNegatives({q.qid: list(q.negatives) for q in data.queries})
    owned = None
    if index is None:
        owned = tempfile.TemporaryDirectory(prefix="blendrank-mine-")
        index = _build_index(data, Path(owned.name) / "index", retriever, embedder, progress)
    elif isinstance(index, (str, Path)):
        from blendrank.index.embedded import Index

        index = Index.open(index)
    try:
        return _mine(data, index, retriever, depth, skip_top, duplicate_threshold, progress)
    finally:
        if owned is not None:
            owned.cleanup()


def _build_index(data: TrainingSet, path: Path, retriever: str, embedder: Any, progress: bool):
    from blendrank.index.embedded import Index
    from blendrank.types import Document

    index = Index.create(path, embedder=None if retriever == "bm25" else embedder)
    index.add((Document(id=d, text=t) for d, t in data.corpus.items()), progress=progress)
    return index


def _mine(
    data: TrainingSet,
    index: Any,
    retriever: str,
    depth: int,
    skip_top: int,
    threshold: float,
    progress: bool,
) -> MinedNegatives:
    out = MinedNegatives({}, retriever=retriever)
    queries: Sequence[TrainingQuery] = data.queries
    if progress:
        from tqdm.auto import tqdm

        queries = tqdm(queries, desc="mining negatives", unit="q")
    first_stage = index.pipeline(mode=retriever, per="document", candidates=depth)
    for q in queries:
        ranked = list(first_stage.run(q.text, depth).final.doc_ids)
        out.candidates[q.qid] = ranked
        relevant = {d for d, g in q.judged.items() if g > 0}
        positive_tokens = [_tokens(data.corpus[d]) for d in q.positives if d in data.corpus]
        negatives = list(q.negatives)
        seen = set(negatives) | relevant
        for rank, doc_id in enumerate(ranked):
            if doc_id in relevant:
                out.dropped_relevant += 1
                continue
            if rank < skip_top or doc_id in seen or doc_id not in data.corpus:
                continue
            tokens = _tokens(data.corpus[doc_id])
            if any(jaccard(tokens, p) >= threshold for p in positive_tokens):
                out.dropped_duplicates += 1
                continue
            seen.add(doc_id)
            negatives.append(doc_id)
        # judged non-relevant documents were pooled from strong systems: hard, and safe
        negatives += sorted(d for d, g in q.judged.items() if g <= 0 and d not in seen)
        out.negatives[q.qid] = negatives
    return out


def sample_group(
    query: TrainingQuery,
    positive: str,
    hard: Sequence[str],
    corpus_ids: Sequence[str],
    rng: random.Random,
    *,
    n_hard: int,
    n_random: int,
) -> list[str]:
    """``positive`` followed by ``n_hard`` hard negatives (sampled from ``hard``, or fewer
    when there are not enough) and ``n_random`` random corpus documents; judged-relevant
    documents never enter as negatives."""
    relevant = {d for d, g in query.judged.items() if g > 0}
    pool = [d for d in hard if d not in relevant]
    picked = rng.sample(pool, min(n_hard, len(pool)))
    taken = set(picked) | relevant
    tries = 0
    while len(picked) < n_hard + n_random and tries < 20 * (n_random + n_hard) and corpus_ids:
        tries += 1
        candidate = corpus_ids[rng.randrange(len(corpus_ids))]
        if candidate not in taken:
            taken.add(candidate)
            picked.append(candidate)
    return [positive, *picked]
