"""Terminal display width (East Asian Width), so CJK rows line up with Latin ones.

A terminal shows wide and fullwidth characters (kanji, kana, hangul, fullwidth forms) in
two columns and combining marks in none; ``str.ljust`` and slicing count characters, so
a Japanese title padded to 48 characters takes up to 96 columns.

>>> display_width("abc"), display_width("ライセンス")
(3, 10)
>>> fit("ライセンス数の上限", 9) + "|"
'ライセン |'
"""

from __future__ import annotations

import unicodedata


def char_width(char: str) -> int:
    """Columns one character takes: 2 for wide/fullwidth, 0 for combining and controls."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Cc", "Cf", "Mn", "Me"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal."""
    return sum(char_width(c) for c in text)


def truncate(text: str, width: int) -> str:
    """The longest prefix of ``text`` that fits in ``width`` columns."""
    used = 0
    for position, char in enumerate(text):
        used += char_width(char)
        if used > width:
            return text[:position]
    return text


def fit(text: str, width: int, *, align: str = "left") -> str:
    """``text`` cut to ``width`` columns and padded with spaces to exactly ``width``."""
    cut = truncate(text, width)
    padding = " " * (width - display_width(cut))
    return cut + padding if align == "left" else padding + cut
