"""Exact-phrase matching on top of BM25.

BM25 drops word order and stopwords, so ``CUDA out of memory`` scores a text saying
"memory of CUDA ran out" as high as the error message itself. Two rules restore the
exact match users expect, both as boosts among BM25's candidates (never as filters:
natural-language queries quote titles and phrases that need not occur verbatim):

* rows holding the query's quoted phrases (``"out of memory" cuda``) rise above the rows
  holding fewer of them;
* an unquoted query of 2 to 8 words that occurs verbatim (case- and space-insensitive)
  in a candidate row lifts that row above every candidate that lacks it (longer queries
  are questions, which never occur verbatim, so they skip the check).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import numpy as np

_QUOTED = re.compile(r'"([^"]+)"')
MAX_PHRASE_WORDS = 8
# BM25 candidates checked for a verbatim match; one holds every query term, so it ranks high
PHRASE_POOL = 50


def quoted_phrases(query: str) -> list[str]:
    """The double-quoted phrases of a query.

    >>> quoted_phrases('"out of memory" cuda "E-4029"')
    ['out of memory', 'E-4029']
    """
    return [p.strip() for p in _QUOTED.findall(query) if p.strip()]


@functools.lru_cache(maxsize=1024)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    words = phrase.split()
    return re.compile(
        r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE
    )


class PhraseMatcher:
    """Applies the two phrase rules to BM25 candidate rows of an index state."""

    def __init__(self, title_in_chunks: bool):
        self.title_in_chunks = title_in_chunks

    @staticmethod
    def phrases(query: str) -> list[str]:
        """The phrases a query is checked for: its quoted ones, else the whole query when it
        has 2 to 8 words; [] when the rules do not apply (the common, free case)."""
        quoted = quoted_phrases(query)
        if quoted:
            return quoted
        return [query.strip()] if 2 <= len(query.split()) <= MAX_PHRASE_WORDS else []

    def adjust(
        self,
        query: str,
        rows: np.ndarray,
        scores: np.ndarray,
        text_of: Callable[[int], str],
        may_hold: Callable[[str, np.ndarray], np.ndarray | None] | None = None,
        tie_key: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Re-score BM25 candidates (rows, scores best first) for phrase matches.

        ``text_of(row)`` is the text a row was indexed under; ``may_hold(phrase, rows)``,
        when given, marks the rows that can hold the phrase at all (every one of its terms
        is in the row: a cheap look-up in the BM25 postings), or None when it cannot tell;
        only those rows are read. ``tie_key[rows]`` orders equal scores (chunk ids; row
        order when None)."""
        phrases = self.phrases(query)
        if len(rows) == 0 or not phrases:
            return rows, scores
        found = np.zeros(len(rows), dtype=np.int64)
        lowered: dict[int, tuple[str, str]] = {}
        for phrase in phrases:
            words, pattern = phrase.lower().split(), phrase_pattern(phrase)
            marked = None if may_hold is None else may_hold(phrase, rows)
            positions = range(len(rows)) if marked is None else np.flatnonzero(marked).tolist()
            for i in positions:
                if i not in lowered:
                    text = text_of(int(rows[i]))
                    lowered[i] = (text, text.lower())
                text, lower = lowered[i]
                # substring test first: the regex runs only where every word occurs
                if all(w in lower for w in words) and pattern.search(text):
                    found[i] += 1
        if found.any() and not (found == found[0]).all():
            # each phrase found lifts a row by the best candidate score: more phrases, higher
            scores = scores + found * float(scores.max())
            order = np.lexsort((rows if tie_key is None else tie_key[rows], -scores))
            rows, scores = rows[order], scores[order]
        return rows, scores
