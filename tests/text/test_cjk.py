"""CJK segmentation: bigrams by hand, optional segmenters on known sentences."""

from __future__ import annotations

import pytest

from blendrank.text.cjk import character_bigrams, fugashi_segmenter, jieba_segmenter


@pytest.mark.parametrize(
    ("run", "expected"),
    [("", []), ("猫", ["猫"]), ("東京", ["東京"]), ("東京都", ["東京", "京都"]),
     ("한국어", ["한국", "국어"])],
)  # fmt: skip
def test_character_bigrams(run: str, expected: list[str]) -> None:
    assert character_bigrams(run) == expected


def test_fugashi_base_forms_and_function_words() -> None:
    pytest.importorskip("fugashi", reason="fugashi (extra 'ja') is not installed")
    # 食べ(食べる) / まし(aux) / た(aux)
    assert fugashi_segmenter(drop_function_words=True)("食べました") == ["食べる"]
    assert fugashi_segmenter(drop_function_words=False)("食べました") == ["食べる", "ます", "た"]


def test_jieba_search_mode() -> None:
    pytest.importorskip("jieba", reason="jieba (extra 'zh') is not installed")
    assert jieba_segmenter()("北京清华大学") == ["北京", "清华", "华大", "大学", "清华大学"]
