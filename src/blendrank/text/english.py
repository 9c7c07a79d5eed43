"""English (and any space-separated script) word analysis: stopwords, identifiers, stemming.

A raw word from :data:`blendrank.text.scripts.WORD` (already lowercased) expands to:

- nothing, when it is a stopword or a single letter;
- its Snowball stem, when it is a plain word;
- itself, unstemmed, followed by the stems of its alphanumeric parts, when it is an
  identifier with internal punctuation, so ``e-4029`` matches exactly and ``4029`` still
  matches partially.

>>> WordExpander(stopwords=frozenset({"the"}), stemmer="english").expand("e-4029")
('e-4029', '4029')
>>> WordExpander(stopwords=frozenset({"the"}), stemmer="english").expand("running")
('run',)
"""

from __future__ import annotations

from blendrank.errors import InvalidInputError
from blendrank.text.scripts import CONNECTOR_RUN

# Lucene's English stopword list, the one bm25s uses for stopwords="en" (copied, because
# importing bm25s for it would cost most of a second).
ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)

# Bound on the per-analyzer memo of word -> tokens; cleared when full, so memory stays
# bounded on corpora with millions of distinct identifiers and numbers.
CACHE_LIMIT = 1 << 20


def load_stemmer(language: str | None):
    """A PyStemmer ``Stemmer`` for a Snowball language, or None for no stemming.

    >>> load_stemmer("english").stemWord("cats")
    'cat'
    """
    if language is None:
        return None
    import Stemmer

    if language not in Stemmer.algorithms():
        raise InvalidInputError(
            f"unknown stemmer {language!r}; use None or one of: {', '.join(Stemmer.algorithms())}"
        )
    return Stemmer.Stemmer(language)


class WordExpander:
    """Turns one lowercased raw word into its output tokens, memoised per word."""

    __slots__ = ("cache", "stopwords", "_stem")

    def __init__(self, stopwords: frozenset[str], stemmer: str | None) -> None:
        self.stopwords = stopwords
        stemmer_obj = load_stemmer(stemmer)
        self._stem = stemmer_obj.stemWord if stemmer_obj is not None else None
        self.cache: dict[str, tuple[str, ...]] = {}

    def expand(self, raw: str) -> tuple[str, ...]:
        """The tokens for ``raw`` (memoised; see the module docstring)."""
        hit = self.cache.get(raw)
        if hit is None:
            if len(self.cache) >= CACHE_LIMIT:
                self.cache.clear()
            hit = self.cache[raw] = self._expand(raw)
        return hit

    def _expand(self, raw: str) -> tuple[str, ...]:
        if raw.isalnum():  # the common case: a plain word or number
            return self._plain(raw)
        word = raw[:-2] if raw.endswith(("'s", "\u2019s")) else raw
        word = word.strip("_")  # __init__ -> init
        if not word:
            return ()
        parts = [p for p in CONNECTOR_RUN.split(word) if p]
        if len(parts) == 1 and parts[0] == word:
            return self._plain(word)
        tokens = [word]
        for part in parts:
            tokens.extend(self._plain(part))
        return tuple(tokens)

    def _plain(self, word: str) -> tuple[str, ...]:
        # single letters ("a", the "e" of "e-4029") carry no meaning alone and, kept, cost
        # 0.02 NDCG@10 on CACM; bm25s drops them too. Digits stay; identifiers stay whole.
        if word in self.stopwords or (len(word) == 1 and not word.isdigit()):
            return ()
        return (self._stem(word),) if self._stem is not None else (word,)
