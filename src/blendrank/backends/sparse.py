"""blendrank's BM25 as sparse vectors, for engines that score a sparse dot product and
apply the IDF themselves at query time (Qdrant's ``Modifier.IDF``, and the SQL of the
PostgreSQL backend).

A chunk's vector holds, per distinct term of blendrank's analyzer (the embedded index's
tokenizer, stemmer and stop words), the BM25 term weight of Lucene's formula, as the
embedded index computes it (``index/bm25.py``, bm25s' method "lucene")::

    tf / (tf + k1 * (1 - b + b * dl / avgdl))

and a query's vector holds each query term's count. The engine multiplies by
``ln(1 + (N - df + 0.5) / (df + 0.5))``, the same IDF, computed over what the engine holds
now, so deletes and additions keep it right. One difference from the embedded index:
``avgdl`` (the mean chunk length in terms) is fixed when the store is first written to,
since stored vectors cannot follow it; a corpus whose chunk lengths drift far from its
first batch ranks slightly differently (docs/backends.md).

Terms become sparse dimensions by a 32-bit hash (BLAKE2b): two distinct terms collide
with probability about n^2 / 2^33 over a vocabulary of n terms (about one pair among
100,000 terms), and a collision only merges two terms' postings.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

K1 = 1.5
B = 0.75


def term_id(term: str) -> int:
    """The sparse dimension of ``term`` (stable across processes and machines).

    >>> term_id("cat") == term_id("cat"), 0 <= term_id("cat") < 2**32
    (True, True)
    """
    digest = hashlib.blake2b(term.encode("utf-8", "surrogatepass"), digest_size=4).digest()
    return int.from_bytes(digest, "little")


class SparseBM25:
    """Sparse BM25 vectors of chunks and queries (see the module docstring)."""

    def __init__(self, analyzer: Any = "auto", *, k1: float = K1, b: float = B):
        from blendrank.text.analyzer import make_analyzer

        self.analyzer = make_analyzer(analyzer)
        self.k1, self.b = float(k1), float(b)

    def lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(tokens) for tokens in self.analyzer.analyze_many(list(texts))]

    def documents(self, texts: Sequence[str], avgdl: float) -> list[tuple[list[int], list[float]]]:
        """``(indices, values)`` of each chunk text, indices ascending."""
        out = []
        for tokens in self.analyzer.analyze_many(list(texts)):
            norm = self.k1 * (1.0 - self.b + self.b * len(tokens) / avgdl)
            weights: dict[int, float] = {}
            for term, tf in Counter(tokens).items():
                index = term_id(term)
                weights[index] = weights.get(index, 0.0) + tf / (tf + norm)
            indices = sorted(weights)
            out.append((indices, [weights[i] for i in indices]))
        return out

    def query(self, text: str) -> tuple[list[int], list[float]]:
        """``(indices, values)`` of a query: each term's count, as BM25 sums over the query."""
        counts: dict[int, float] = {}
        for term in self.analyzer.analyze(text):
            index = term_id(term)
            counts[index] = counts.get(index, 0.0) + 1.0
        indices = sorted(counts)
        return indices, [counts[i] for i in indices]
