"""Exact-phrase matching on top of BM25.

BM25 drops word order and stopwords, so ``CUDA out of memory`` scores a text saying
"memory of CUDA ran out" as high as the error message itself. Two rules restore the
exact match users expect:

* a quoted phrase (``"out of memory" cuda``) is required: rows without it are dropped;
* an unquoted query of 2 to 8 words that occurs verbatim (case- and space-insensitive)
  in a candidate row lifts that row above every candidate that lacks it (longer queries
  are questions, which never occur verbatim, so they skip the check).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

_QUOTED = re.compile(r'"([^"]+)"')
MAX_PHRASE_WORDS = 8


def quoted_phrases(query: str) -> list[str]:
    """The double-quoted phrases of a query.

    >>> quoted_phrases('"out of memory" cuda "E-4029"')
    ['out of memory', 'E-4029']
    """
    return [p.strip() for p in _QUOTED.findall(query) if p.strip()]


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    words = phrase.split()
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)


class PhraseMatcher:
    """Applies the two phrase rules to BM25 candidate rows of an index state."""

    def __init__(self, title_in_chunks: bool):
        self.title_in_chunks = title_in_chunks

    def adjust(
        self, query: str, rows: np.ndarray, scores: np.ndarray, texts: Iterable[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Re-score BM25 candidates (rows, scores best first) for phrase matches."""
        if len(rows) == 0:
            return rows, scores
        required = quoted_phrases(query)
        plain = _QUOTED.sub(" ", query).strip() if required else query.strip()
        whole = phrase_pattern(plain) if 2 <= len(plain.split()) <= MAX_PHRASE_WORDS else None
        if not required and whole is None:
            return rows, scores
        texts = list(texts)
        if required:
            patterns = [phrase_pattern(p) for p in required]
            keep = np.array([all(p.search(t) for p in patterns) for t in texts], dtype=bool)
            rows, scores = rows[keep], scores[keep]
            texts = [t for t, k in zip(texts, keep) if k]
        if whole is not None and len(rows):
            hit = np.array([whole.search(t) is not None for t in texts], dtype=bool)
            if hit.any() and not hit.all():
                scores = scores + hit * float(scores.max())
                order = np.lexsort((rows, -scores))
                rows, scores = rows[order], scores[order]
        return rows, scores
