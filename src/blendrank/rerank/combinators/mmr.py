"""Maximal Marginal Relevance (Carbonell & Goldstein, SIGIR 1998): rerank for relevance
*and* novelty, so near-duplicate passages do not crowd the top of the list.

Greedy: with S the documents already picked, the next pick is::

    argmax_{d not in S}  lambda * rel(d) - (1 - lambda) * max_{s in S} cos(d, s)

(the max over an empty S counts as 0). ``lambda_=1`` is plain relevance order;
``lambda_=0`` only avoids redundancy.

Scores: each document's score is its MMR objective value at the moment it was picked.
That value never increases from one pick to the next, so sorting by score reproduces
the selection order; exact ties are nudged down by one float32 step so the order stays
the selection order. Compare scores within one call only.

>>> order, gains = maximal_marginal_relevance(
...     np.array([1.0, 0.9, 0.5]), np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), 0.5)
>>> order.tolist(), [round(float(g), 3) for g in gains]
([0, 2, 1], [0.5, 0.25, -0.05])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from blendrank.fuse.normalize import minmax
from blendrank.rerank.base import Reranker, check_candidates, reranked, validate_query
from blendrank.rerank.bi_encoder import (
    DEFAULT_EMBEDDER,
    BiEncoderReranker,
    checked_vectors,
    cosine_scores,
    resolve_embedder,
)
from blendrank.rerank.combinators.base import CompositeReranker, check_fraction, check_reranker
from blendrank.types import Hit, Query, Ranking

if TYPE_CHECKING:
    from blendrank.embed.base import Embedder


def maximal_marginal_relevance(
    relevance: np.ndarray, vectors: np.ndarray, lambda_: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy MMR over all candidates. Pure.

    Returns ``(order, gains)``: candidate indices in selection order and the MMR value
    of each pick (float32, strictly decreasing). Ties pick the lower input index.
    """
    relevance = np.asarray(relevance, dtype=np.float64)
    unit = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(unit, axis=1, keepdims=True)
    unit = np.divide(unit, norms, out=np.zeros_like(unit), where=norms > 0)
    n = len(relevance)
    redundancy = np.zeros(n, dtype=np.float64)
    available = np.ones(n, dtype=bool)
    order = np.empty(n, dtype=np.int64)
    gains = np.empty(n, dtype=np.float32)
    for step in range(n):
        value = lambda_ * relevance - (1.0 - lambda_) * redundancy
        value[~available] = -np.inf
        pick = int(np.argmax(value))
        order[step], available[pick] = pick, False
        gain = np.float32(value[pick])
        if step and gain >= gains[step - 1]:
            gain = np.nextafter(gains[step - 1], np.float32(-np.inf))
        gains[step] = gain
        similarity = unit @ unit[pick]
        redundancy = similarity if step == 0 else np.maximum(redundancy, similarity)
    return order, gains


class MMRReranker(CompositeReranker):
    """Diversify a ranking with Maximal Marginal Relevance (see the module docstring).

    ``rel(d)`` is ``base``'s score min-max normalised to [0, 1], or, when ``base`` is
    None, the cosine of the query and document embeddings. Redundancy is the cosine
    between document embeddings from ``embedder`` (default: ``base``'s embedder when
    ``base`` is a bi-encoder, else ``"all-MiniLM-L6-v2"``).

    >>> rf = MMRReranker(None, "all-MiniLM-L6-v2", lambda_=0.5)
    >>> docs = ["Cats purr when happy.", "Happy cats purr.", "Dogs bark at strangers."]
    >>> [r.index for r in rf("why do cats purr", docs)]
    [0, 2, 1]
    """

    def __init__(
        self,
        base: Reranker | None = None,
        embedder: str | Mapping[str, Any] | Embedder | None = None,
        lambda_: float = 0.5,
    ) -> None:
        super().__init__()
        self.base = None if base is None else check_reranker(base, "base")
        self.lambda_ = check_fraction(lambda_, "lambda_")
        if embedder is None:
            embedder = base.embedder if isinstance(base, BiEncoderReranker) else DEFAULT_EMBEDDER
        self.embedder = resolve_embedder(embedder)
        relevance = "cosine" if self.base is None else self.base.name
        self.name = f"mmr({relevance},lambda={self.lambda_})"

    @property
    def fingerprint(self) -> str:
        base = "cosine" if self.base is None else self.base.fingerprint
        return f"mmr:{self.lambda_}:{base}:{self.embedder.fingerprint}"

    def config(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "base": None if self.base is None else self.base.config(),
            "lambda_": self.lambda_,
        }

    uses_vectors = True

    @property
    def vector_model(self) -> str:
        return str(self.embedder.fingerprint)

    def rerank(
        self,
        query: str | Query,
        candidates: Sequence[Hit] | Ranking,
        top_k: int | None = None,
        *,
        vectors: np.ndarray | None = None,
    ) -> Ranking:
        """Rerank search hits; with ``vectors`` (row i for hit i, stored embeddings of
        :attr:`vector_model`) no document is embedded."""
        text = validate_query(query)
        hits = check_candidates(candidates)
        if not hits:
            return Ranking(info=self.info(hits))
        texts = [h.text for h in hits]
        if vectors is None:
            matrix = self.embedder.embed_documents(texts)
        else:
            matrix = checked_vectors(vectors, len(hits))
        inner: dict = {}
        if self.base is None:
            relevance = cosine_scores(self.embedder.embed_queries([text])[0], matrix)
        else:
            base_scores, inner = self.inner(self.base, text, hits, vectors)
            relevance = minmax(base_scores)
        order, gains = maximal_marginal_relevance(relevance, matrix, self.lambda_)
        scores = np.empty(len(hits), dtype=np.float32)
        scores[order] = gains
        info = self.info(
            hits,
            inner,
            **{"lambda": self.lambda_, "relevance": "cosine" if self.base is None else "base"},
        )
        return reranked(hits, scores, top_k, info)
