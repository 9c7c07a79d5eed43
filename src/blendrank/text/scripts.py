"""Unicode script classes and the token regexes built from them.

Python's ``re`` has no script properties, so the classes are explicit code-point
ranges. "CJK" here means the scripts written without spaces between words that the
analyzer cuts into character bigrams: Han, Hiragana, Katakana and Hangul.

>>> bool(KANA.search("東京タワー")), bool(KANA.search("北京大学"))
(True, False)
"""

from __future__ import annotations

import re

HAN = (
    "\u3005\u3007"  # 々 (iteration mark) and 〇 (ideographic zero)
    "\u3400-\u4dbf"  # CJK Unified Ideographs Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
    "\U00020000-\U0003134f"  # Extensions B to G
)
# U+30FB (katakana middle dot) is punctuation, so it is left out of the kana range.
KANA_CHARS = "\u3041-\u309f\u30a0-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f"
HANGUL = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"
CJK_CHARS = HAN + KANA_CHARS + HANGUL

# Combining marks that Python's ``\w`` does not match but that sit inside words
# (decomposed Latin accents, Indic vowel signs, Arabic and Hebrew points).
COMBINING = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f"
    "\u0900-\u0963\u0966-\u0dff"  # Indic blocks, without the danda punctuation
)

# A word: letters, digits, "_" (Python's \w) and combining marks. \w also matches CJK
# characters, so texts containing CJK are first cut at CJK runs (CJK_RUN.split).
WORD_CHARS = rf"[\w{COMBINING}]"

# Punctuation that joins the parts of an identifier: E-4029, v2.3.1, sha256:abc, a/b,
# user@host, a+b ("_" is inside WORD_CHARS already: foo_bar).
CONNECTORS = "-.:/@+"

# A word, or an identifier made of words joined by connectors, optionally followed by
# "++" or "#" (C++, C#) and an English possessive "'s" (stripped later).
WORD = re.compile(
    rf"{WORD_CHARS}+(?:[{re.escape(CONNECTORS)}]+{WORD_CHARS}+)*(?:\+\+|#)?(?:['\u2019]s\b)?"
)
# Capturing, so CJK_RUN.split(text) alternates: other text, CJK run, other text, ...
CJK_RUN = re.compile(f"([{CJK_CHARS}]+)")
KANA = re.compile(f"[{KANA_CHARS}]")
HANGUL_RE = re.compile(f"[{HANGUL}]")
# What separates the parts of an identifier.
CONNECTOR_RUN = re.compile(rf"[{re.escape(CONNECTORS)}_#]+")


def has_kana(text: str) -> bool:
    """True when ``text`` contains Hiragana or Katakana, i.e. it is Japanese, not Chinese.

    >>> has_kana("日本語のテキスト"), has_kana("中文文本")
    (True, False)
    """
    return KANA.search(text) is not None
