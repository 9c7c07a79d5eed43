"""Script classes: which characters start a CJK run, what a word is."""

from __future__ import annotations

import pytest

from blendrank.text.scripts import CJK_RUN, WORD, has_kana


@pytest.mark.parametrize(
    ("text", "expected"),
    [("ひらがな", True), ("カタカナ", True), ("ｶﾀｶﾅ", True), ("漢字だけ", True),
     ("北京大学", False), ("한국어", False), ("plain", False), ("・", False)],
)  # fmt: skip
def test_has_kana(text: str, expected: bool) -> None:
    assert has_kana(text) is expected


def test_cjk_run_split_alternates_other_text_and_runs() -> None:
    # "々" (iteration mark) and "ー" (long vowel mark) stay inside runs; "、" splits them
    assert CJK_RUN.split("a 人々、ラーメン b") == ["a ", "人々", "、", "ラーメン", " b"]
    assert CJK_RUN.split("no cjk here") == ["no cjk here"]


def test_word_regex_on_lowercased_text() -> None:
    text = "e-4029. v2.3.1, c++ c# foo_bar sha256:abc user's don't -x- 'quoted'"
    assert WORD.findall(text) == [
        "e-4029", "v2.3.1", "c++", "c#", "foo_bar", "sha256:abc", "user's", "don", "t",
        "x", "quoted",
    ]  # fmt: skip
