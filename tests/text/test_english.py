"""WordExpander: stopwords, stemming, identifiers, bounded memo."""

from __future__ import annotations

import pytest

from blendrank.errors import InvalidInputError
from blendrank.text import english
from blendrank.text.english import ENGLISH_STOPWORDS, WordExpander, load_stemmer


def test_stopword_list_is_lucene_english() -> None:
    assert len(ENGLISH_STOPWORDS) == 33 and {"the", "a", "with"} <= ENGLISH_STOPWORDS


def test_expand() -> None:
    words = WordExpander(ENGLISH_STOPWORDS, "english")
    assert words.expand("the") == ()
    assert words.expand("studies") == ("studi",)
    assert words.expand("e-4029") == ("e-4029", "4029")
    assert words.expand("a-bc") == ("a-bc", "bc")  # the stopword part "a" is dropped
    assert words.expand("user's") == ("user",)
    assert words.expand("___") == ()


def test_no_stemmer_keeps_words() -> None:
    assert WordExpander(frozenset(), None).expand("studies") == ("studies",)


def test_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(english, "CACHE_LIMIT", 3)
    words = WordExpander(frozenset(), None)
    for w in ["aa", "bb", "cc"]:
        words.expand(w)
    assert len(words.cache) == 3
    assert words.expand("dd") == ("dd",) and list(words.cache) == ["dd"]  # cleared, then stored


def test_unknown_stemmer() -> None:
    with pytest.raises(InvalidInputError, match="unknown stemmer 'elvish'.*english"):
        load_stemmer("elvish")
    assert load_stemmer(None) is None
