"""BM25 analyzers: text in, index terms out, the same way for documents and queries.

The default ``"auto"`` analyzer handles mixed-language corpora: each text is split into
runs of CJK characters (Han, Kana, Hangul) and words of every other script. Words get
English analysis (lowercase, stopwords, Snowball stemming; identifiers such as
``E-4029`` kept whole as well as split); CJK runs get overlapping character bigrams,
or a morphological segmenter when asked for (``ja="fugashi"``, ``zh="jieba"``).

>>> analyzer = make_analyzer("auto")
>>> analyzer.analyze("The cats ran to E-4029")
['cat', 'ran', 'e-4029', '4029']
>>> analyzer.analyze("東京タワー")
['東京', '京タ', 'タワ', 'ワー']
>>> make_analyzer(analyzer.config()) == analyzer
True
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from blendrank.errors import InvalidInputError
from blendrank.text.cjk import character_bigrams, fugashi_segmenter, jieba_segmenter
from blendrank.text.english import ENGLISH_STOPWORDS, WordExpander
from blendrank.text.scripts import CJK_RUN, HANGUL_RE, WORD, has_kana

ANALYZER_VERSION = 1


class Analyzer(ABC):
    """Base of every analyzer: implement :meth:`analyze` and :meth:`config`.

    ``config()`` must be JSON-serialisable and contain ``"name"``;
    :func:`make_analyzer` rebuilds an equal analyzer from it. Analyzers compare equal
    when their configs are equal, and pickle through their config.
    """

    name: ClassVar[str]

    @abstractmethod
    def analyze(self, text: str) -> list[str]:
        """The index terms of ``text``, in order (duplicates kept)."""

    def analyze_many(self, texts: Sequence[str]) -> list[list[str]]:
        """``[analyze(t) for t in texts]``; subclasses may do it faster."""
        return [self.analyze(text) for text in texts]

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """A JSON-serialisable description that :func:`make_analyzer` accepts."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Analyzer) and self.config() == other.config()

    def __hash__(self) -> int:
        return hash(repr(self.config()))

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({options})"

    def __reduce__(self):
        return (make_analyzer, (self.config(),))


#: how the ``auto`` analyzer cuts Japanese / Chinese text (the first is the default)
JA_SEGMENTERS = ("bigram", "fugashi")
ZH_SEGMENTERS = ("bigram", "jieba")


class AutoAnalyzer(Analyzer):
    """Per-text script detection: English analysis for words, bigrams (or a segmenter) for CJK.

    Options:

    - ``stopwords``: True (Lucene's English list), False, or a list of lowercase words.
    - ``stemmer``: a Snowball language for PyStemmer (``"english"``), or None.
    - ``ja``: ``"bigram"`` or ``"fugashi"`` for texts containing kana.
    - ``zh``: ``"bigram"`` or ``"jieba"`` for texts with Han characters and no kana.

    Hangul is always cut into bigrams.

    >>> AutoAnalyzer(stemmer=None).analyze("Running C++ v2.3.1")
    ['running', 'c++', 'v2.3.1', 'v2', '3', '1']
    """

    name = "auto"

    def __init__(
        self,
        *,
        stopwords: bool | Sequence[str] = True,
        stemmer: str | None = "english",
        ja: str = "bigram",
        zh: str = "bigram",
    ) -> None:
        self._stopwords_option = _check_stopwords(stopwords)
        if isinstance(self._stopwords_option, list):
            stopword_set = frozenset(self._stopwords_option)
        else:
            stopword_set = ENGLISH_STOPWORDS if self._stopwords_option else frozenset()
        if ja not in JA_SEGMENTERS:
            raise InvalidInputError(f"ja must be one of {', '.join(JA_SEGMENTERS)}, got {ja!r}")
        if zh not in ZH_SEGMENTERS:
            raise InvalidInputError(f"zh must be one of {', '.join(ZH_SEGMENTERS)}, got {zh!r}")
        if stemmer is not None and not isinstance(stemmer, str):
            raise InvalidInputError(f"stemmer must be a Snowball language or None, got {stemmer!r}")
        self._stemmer = stemmer
        self._ja = ja
        self._zh = zh
        self._stopword_set = stopword_set
        self._words = WordExpander(stopword_set, stemmer)
        # Segmenters load their dictionaries on first use, not here.
        self._japanese: Callable[[str], list[str]] | None = None
        self._chinese: Callable[[str], list[str]] | None = None

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": ANALYZER_VERSION,
            "stopwords": self._stopwords_option,
            "stemmer": self._stemmer,
            "ja": self._ja,
            "zh": self._zh,
        }

    def analyze(self, text: str) -> list[str]:
        out: list[str] = []
        if text.isascii():
            self._add_words(text.lower(), out)
            return out
        # NFKC folds full-width Latin and digits (ＡＢＣ１２３) and half-width kana.
        text = unicodedata.normalize("NFKC", text).lower()
        pieces = CJK_RUN.split(text)
        if len(pieces) == 1:
            self._add_words(text, out)
            return out
        segment = self._cjk_segmenter(text)
        for i, piece in enumerate(pieces):
            if i % 2 == 0:  # text between CJK runs
                self._add_words(piece, out)
            elif segment is character_bigrams or HANGUL_RE.search(piece):
                out += character_bigrams(piece)
            else:
                out += segment(piece)
        return out

    def analyze_many(self, texts: Sequence[str]) -> list[list[str]]:
        # Same as analyze, with the ASCII path inlined: most corpus texts take it.
        add_words = self._add_words
        analyze = self.analyze
        result = []
        for text in texts:
            if text.isascii():
                out: list[str] = []
                add_words(text.lower(), out)
                result.append(out)
            else:
                result.append(analyze(text))
        return result

    def _add_words(self, lowered: str, out: list[str]) -> None:
        # The memo is read inline: one dict lookup per token, no call, on the hot path.
        memo = self._words.cache
        expand = self._words.expand
        for raw in WORD.findall(lowered):
            tokens = memo.get(raw)
            out += tokens if tokens is not None else expand(raw)

    def _cjk_segmenter(self, text: str) -> Callable[[str], list[str]]:
        if self._ja == "bigram" and self._zh == "bigram":
            return character_bigrams
        if has_kana(text):
            if self._ja == "bigram":
                return character_bigrams
            if self._japanese is None:
                self._japanese = _filtered(
                    fugashi_segmenter(drop_function_words=bool(self._stopword_set)),
                    self._stopword_set,
                )
            return self._japanese
        if self._zh == "bigram":
            return character_bigrams
        if self._chinese is None:
            self._chinese = _filtered(jieba_segmenter(), self._stopword_set)
        return self._chinese


def _filtered(segment: Callable[[str], list[str]], stopwords: frozenset[str]):
    if not stopwords:
        return segment
    return lambda run: [t for t in segment(run) if t not in stopwords]


def _check_stopwords(stopwords: object) -> bool | list[str]:
    if isinstance(stopwords, bool):
        return stopwords
    if isinstance(stopwords, str) or not isinstance(stopwords, Sequence | frozenset | set):
        raise InvalidInputError(
            f"stopwords must be True, False or a list of words, got {stopwords!r}"
        )
    words = list(stopwords)
    if not all(isinstance(w, str) for w in words):
        raise InvalidInputError("stopwords list must contain only strings")
    # Sorted and lowercased so the config (and equality) does not depend on input order.
    return sorted({w.lower() for w in words})


ANALYZERS: dict[str, type[Analyzer]] = {"auto": AutoAnalyzer}


def make_analyzer(spec: str | dict[str, Any] | Analyzer = "auto") -> Analyzer:
    """Build an analyzer from a name, a ``config()`` dict, or return an analyzer as is.

    >>> make_analyzer({"name": "auto", "stemmer": None}).analyze("Cats")
    ['cats']
    """
    if isinstance(spec, Analyzer):
        return spec
    if isinstance(spec, str):
        return _analyzer_class(spec)()
    if not isinstance(spec, dict):
        raise InvalidInputError(
            f"analyzer must be a name, a config dict or an Analyzer, got {type(spec).__name__}"
        )
    options = dict(spec)
    cls = _analyzer_class(options.pop("name", "auto"))
    version = options.pop("version", ANALYZER_VERSION)
    if version != ANALYZER_VERSION:
        raise InvalidInputError(
            f"analyzer config version {version!r} is not supported by this blendrank "
            f"(expected {ANALYZER_VERSION}); rebuild the index with this version"
        )
    try:
        return cls(**options)
    except TypeError as exc:
        raise InvalidInputError(f"bad options for analyzer {cls.name!r}: {exc}") from None


def _analyzer_class(name: object) -> type[Analyzer]:
    if name not in ANALYZERS:
        raise InvalidInputError(
            f"unknown analyzer {name!r}; available: {', '.join(sorted(ANALYZERS))}"
        )
    return ANALYZERS[name]
