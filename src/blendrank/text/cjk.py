"""Segmenting runs of Han, Kana and Hangul characters into index terms.

The default is dependency-free overlapping character bigrams (as Lucene's CJK
analyzer does); a lone character becomes a unigram. Optional morphological segmenters:
fugashi (MeCab with UniDic) for Japanese, jieba for Chinese.

>>> character_bigrams("東京都")
['東京', '京都']
>>> character_bigrams("猫")
['猫']
"""

from __future__ import annotations

from collections.abc import Callable

from blendrank._optional import require

# Parts of speech fugashi tokens are dropped for when stopwords are on: particles,
# auxiliary verbs and symbols (Lucene's Japanese analyzer drops the same classes).
JAPANESE_STOP_POS = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白"})


def character_bigrams(run: str) -> list[str]:
    """Overlapping two-character terms of ``run``; one character gives itself."""
    if len(run) < 2:
        return [run] if run else []
    return [run[i : i + 2] for i in range(len(run) - 1)]


def fugashi_segmenter(drop_function_words: bool) -> Callable[[str], list[str]]:
    """A Japanese segmenter returning dictionary base forms (食べた -> 食べる).

    Needs the ``ja`` extra (fugashi + unidic-lite).
    """
    fugashi = require("fugashi", "ja", "Japanese morphological analysis (ja='fugashi')")
    tagger = fugashi.Tagger()

    def segment(run: str) -> list[str]:
        terms = []
        for word in tagger(run):
            feature = word.feature
            if drop_function_words and feature.pos1 in JAPANESE_STOP_POS:
                continue
            base = getattr(feature, "orthBase", None)
            terms.append(base if base and base != "*" else word.surface)
        return terms

    return segment


def jieba_segmenter() -> Callable[[str], list[str]]:
    """A Chinese segmenter in jieba's search mode (清华大学 -> 清华, 华大, 大学, 清华大学).

    Needs the ``zh`` extra (jieba).
    """
    jieba = require("jieba", "zh", "Chinese word segmentation (zh='jieba')")
    import logging

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()

    def segment(run: str) -> list[str]:
        return [t for t in tokenizer.cut_for_search(run) if t.strip()]

    return segment
