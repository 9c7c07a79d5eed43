"""The "auto" analyzer: exact tokens for small strings, worked out by hand."""

from __future__ import annotations

import json
import pickle

import bm25s
import numpy as np
import pytest

from blendrank.errors import InvalidInputError, MissingDependencyError
from blendrank.text.analyzer import Analyzer, AutoAnalyzer, make_analyzer


@pytest.fixture(scope="module")
def auto() -> Analyzer:
    return make_analyzer("auto")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # lowercased; "the", "are" are stopwords; snowball: foxes->fox, running->run
        ("The quick brown foxes are running", ["quick", "brown", "fox", "run"]),
        # possessive 's dropped; "don't" splits at the apostrophe
        ("The user's files don't load", ["user", "file", "don", "load"]),  # single letters dropped
        # numbers (even one digit) are kept; "1,000" is two numbers; 3.14 is an identifier
        ("1,000 3.14 type 2 diabetes", ["1", "000", "3.14", "3", "14", "type", "2", "diabet"]),
        ("", []),
        ("  ... !!! ", []),
        # leading/trailing underscores are not part of a word
        ("__init__", ["init"]),
    ],
)
def test_english(auto: Analyzer, text: str, expected: list[str]) -> None:
    assert auto.analyze(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("E-4029", ["e-4029", "4029"]),  # the lone "e" is dropped
        ("see E-4029.", ["see", "e-4029", "4029"]),  # the full stop is not part of it
        ("v2.3.1", ["v2.3.1", "v2", "3", "1"]),
        ("C++", ["c++"]),
        ("C#", ["c#"]),
        ("foo_bar", ["foo_bar", "foo", "bar"]),
        ("sha256:abc", ["sha256:abc", "sha256", "abc"]),
        ("user@example.com", ["user@example.com", "user", "exampl", "com"]),
        # the whole identifier is not stemmed or stopped; its parts are
        ("state-of-the-art", ["state-of-the-art", "state", "art"]),
    ],
)
def test_identifiers_are_kept_whole_and_split(
    auto: Analyzer, text: str, expected: list[str]
) -> None:
    assert auto.analyze(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Japanese: one CJK run across kanji and kana -> overlapping bigrams
        ("東京タワー", ["東京", "京タ", "タワ", "ワー"]),
        ("富士山です", ["富士", "士山", "山で", "です"]),
        # Chinese
        ("北京大学", ["北京", "京大", "大学"]),
        # a lone character is a unigram
        ("猫", ["猫"]),
        ("猫 と 犬", ["猫", "と", "犬"]),
        # Korean (Hangul): bigrams inside each space-separated run
        ("한국어 텍스트", ["한국", "국어", "텍스", "스트"]),
        # CJK punctuation separates runs
        ("東京、大阪。", ["東京", "大阪"]),
    ],
)
def test_cjk_bigrams(auto: Analyzer, text: str, expected: list[str]) -> None:
    assert auto.analyze(text) == expected


def test_mixed_scripts(auto: Analyzer) -> None:
    # "Python 3.11" gets English analysis; "で東京へ" is one run -> で東, 東京, 京へ
    assert auto.analyze("Python 3.11で東京へ") == [
        "python",
        "3.11",
        "3",
        "11",
        "で東",
        "東京",
        "京へ",
    ]
    assert auto.analyze("Error E-4029 が発生") == ["error", "e-4029", "4029", "が発", "発生"]


def test_nfkc_folds_full_width_and_half_width(auto: Analyzer) -> None:
    # ＡＢＣ１２３ -> abc123; half-width ｶﾀｶﾅ -> カタカナ -> カタ, タカ, カナ
    assert auto.analyze("ＡＢＣ１２３ ｶﾀｶﾅ") == ["abc123", "カタ", "タカ", "カナ"]


def test_combining_marks_stay_inside_words(auto: Analyzer) -> None:
    # Devanagari vowel signs are combining marks that Python's \w does not match
    assert auto.analyze("हिन्दी भाषा") == ["हिन्दी", "भाषा"]


def test_analyze_many_equals_analyze(auto: Analyzer) -> None:
    texts = ["The cats", "東京タワー", "E-4029 and E-4030", "", "ＡＢＣ"]
    assert auto.analyze_many(texts) == [auto.analyze(t) for t in texts]


def test_options() -> None:
    # no stopwords, no stemmer: every word as lowercased
    plain = AutoAnalyzer(stopwords=False, stemmer=None)
    assert plain.analyze("The Running cats") == ["the", "running", "cats"]
    # a custom stopword list (case-insensitive) replaces the English one
    custom = AutoAnalyzer(stopwords=["Cats"], stemmer=None)
    assert custom.analyze("The Running cats") == ["the", "running"]
    # another Snowball language
    french = AutoAnalyzer(stopwords=False, stemmer="french")
    assert french.analyze("chevaux") == ["cheval"]


def test_config_round_trip_through_json() -> None:
    analyzer = AutoAnalyzer(stopwords=["b", "a"], stemmer=None, ja="fugashi")
    config = json.loads(json.dumps(analyzer.config()))
    assert config == {
        "name": "auto",
        "version": 1,
        "stopwords": ["a", "b"],
        "stemmer": None,
        "ja": "fugashi",
        "zh": "bigram",
    }
    rebuilt = make_analyzer(config)
    assert rebuilt == analyzer
    assert rebuilt.analyze("A b C cc") == ["cc"]  # stopwords a, b; single letter c
    assert make_analyzer("auto") != analyzer


def test_make_analyzer_returns_an_analyzer_instance_unchanged() -> None:
    analyzer = AutoAnalyzer()
    assert make_analyzer(analyzer) is analyzer


def test_pickle_round_trip() -> None:
    analyzer = AutoAnalyzer(stemmer="english")
    analyzer.analyze("warm the cache")
    clone = pickle.loads(pickle.dumps(analyzer))
    assert clone == analyzer and clone.analyze("cats E-1") == ["cat", "e-1", "1"]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("bm42", "unknown analyzer 'bm42'"),
        ({"name": "auto", "stemer": "english"}, "bad options"),
        ({"name": "auto", "version": 99}, "version 99"),
        ({"stemmer": "klingon"}, "unknown stemmer 'klingon'"),
        ({"ja": "mecab"}, "ja must be"),
        ({"zh": "pkuseg"}, "zh must be"),
        ({"stopwords": "en"}, "stopwords must be"),
        ({"stopwords": [1, 2]}, "only strings"),
        (42, "analyzer must be"),
    ],
)
def test_bad_specs(spec: object, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        make_analyzer(spec)  # type: ignore[arg-type]


def test_deterministic_across_instances() -> None:
    text = "Mixed 混合テキスト with E-4029 and 北京大学"
    assert AutoAnalyzer().analyze(text) == AutoAnalyzer().analyze(text)


def test_identifier_ranks_exact_match_first_in_bm25(auto: Analyzer) -> None:
    corpus = [
        "Error E-4030 occurs when the network is down",  # shares only "error", "occur"
        "Ticket 4029 was closed yesterday",  # shares only "4029"
        "Error E-4029 occurs when the disk is full",  # the exact identifier
        "The printer jams on thick paper",  # nothing
    ]
    retriever = bm25s.BM25()
    retriever.index(auto.analyze_many(corpus), show_progress=False)
    docs, scores = retriever.retrieve([auto.analyze("E-4029")], k=4, show_progress=False)
    ranked = [int(d) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
    # the exact identifier wins; "4029" alone still matches partially
    assert ranked[0] == 2
    assert sorted(ranked) == [1, 2]
    assert np.all(np.diff(scores[0]) <= 0)


def test_japanese_fugashi() -> None:
    pytest.importorskip("fugashi", reason="fugashi (extra 'ja') is not installed")
    analyzer = AutoAnalyzer(ja="fugashi")
    # MeCab/UniDic: 東京 / タワー / に(particle, dropped) / 行き->行く / まし, た (aux, dropped)
    assert analyzer.analyze("東京タワーに行きました") == ["東京", "タワー", "行く"]
    # Han-only text is Chinese, so the Japanese segmenter is not used: bigrams
    assert analyzer.analyze("北京大学") == ["北京", "京大", "大学"]


def test_chinese_jieba() -> None:
    pytest.importorskip("jieba", reason="jieba (extra 'zh') is not installed")
    analyzer = AutoAnalyzer(zh="jieba")
    # jieba's search mode adds the shorter words inside 清华大学
    assert analyzer.analyze("我来到北京清华大学") == [
        "我", "来到", "北京", "清华", "华大", "大学", "清华大学"
    ]  # fmt: skip
    # kana present: Japanese, which stays on bigrams here
    assert analyzer.analyze("東京です") == ["東京", "京で", "です"]


def test_missing_optional_segmenter_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "jieba", None)  # makes `import jieba` fail
    analyzer = AutoAnalyzer(zh="jieba")
    with pytest.raises(MissingDependencyError, match=r"blendrank\[zh\]"):
        analyzer.analyze("北京")
