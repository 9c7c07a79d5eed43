"""Date phrases of a question as a date range, in English, Japanese and Chinese.

Every phrase becomes ``{"gte": "YYYY-MM-DD"}`` and/or ``{"lt": "YYYY-MM-DD"}`` (a start
included, an end excluded), relative phrases counted back from ``today``:

================================================  ======================================
phrase (examples)                                 range
================================================  ======================================
since 2025, from 2025 on, 2025年以降, 2025年から,   from the start of 2025
2025年以来, 自2025年起, 2025年起, 2025年以后
since March 2025, 2025年3月以降                    from 2025-03-01
after 2024, 2024年より後, 2024年之后               from the start of 2025
before 2024, 2024年より前, 2024年以前, 2024年之前   until the start of 2024
in 2024, during 2024, 2024年の, 2024年的           that year; "in March 2024": that month
between 2022 and 2024, 2022年から2024年            the start of 2022 to the end of 2024
last 6 months, past 2 years, last 10 days,        N units back from today
過去6か月, 直近6ヶ月, 过去6个月, 最近6个月, 近两年
this year / 今年, last year / 昨年 / 去年          the year; this month, last month alike
================================================  ======================================

>>> import datetime as dt
>>> [(m.text, m.range) for m in find_dates("errors since 2025 on cloud", dt.date(2026, 12, 1))]
[('since 2025', {'gte': '2025-01-01'})]
>>> find_dates("過去3か月のエラー", dt.date(2026, 12, 1))[0].range
{'gte': '2026-09-01'}
>>> find_dates("2024年之前的安装问题", dt.date(2026, 12, 1))[0].range
{'lt': '2024-01-01'}
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

MONTHS = {
    name: n
    for n, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a": 1, "an": 1,
}  # fmt: skip
_CJK_DIGITS = {"一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6,
               "七": 7, "八": 8, "九": 9}  # fmt: skip


@dataclass(frozen=True)
class DateMatch:
    """A date phrase: where it is in the (folded) text, and the range it means."""

    start: int
    end: int
    text: str
    range: dict[str, str]


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _year(y: int) -> dt.date:
    return dt.date(y, 1, 1)


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def months_back(today: dt.date, n: int) -> dt.date:
    """``today`` minus ``n`` months, the day clipped to the month's length."""
    month = today.month - 1 - n
    year = today.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def _cjk_number(text: str) -> int | None:
    """1-99 written as digits or Chinese numerals (三, 十二, 二十)."""
    if text.isdigit():
        return int(text)
    if text in _NUMBER_WORDS:
        return _NUMBER_WORDS[text]
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        t = _CJK_DIGITS.get(tens, 1) if tens else 1
        o = _CJK_DIGITS.get(ones, 0) if ones else 0
        if (tens and tens not in _CJK_DIGITS) or (ones and ones not in _CJK_DIGITS):
            return None
        return t * 10 + o
    return _CJK_DIGITS.get(text)


def _back(today: dt.date, n: int, unit: str) -> dt.date:
    if unit in ("day", "日", "天"):
        return today - dt.timedelta(days=n)
    if unit in ("week", "週間", "周", "週"):
        return today - dt.timedelta(weeks=n)
    if unit in ("year", "年"):
        return months_back(today, 12 * n)
    return months_back(today, n)


_YEAR = r"(?P<y>(?:19|20)\d\d)"
_MONTH_EN = r"(?:(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s+)?"
_MONTH_CJK = r"(?:(?P<m>1[0-2]|0?[1-9])月)?"
_N = (
    r"(?P<n>\d{1,3}|[一二两兩三四五六七八九十]{1,3}"
    r"|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a|an)"
)
_Y1, _Y2 = r"(?P<y1>(?:19|20)\d\d)", r"(?P<y2>(?:19|20)\d\d)"
#: "from 2025 on" / "since 2025 onwards": "on" only at the end of a clause
_ON = r"(?:\s+onwards?|\s+on(?=\s*(?:$|[,.;!?])))?"
_B = r"(?<![0-9a-z])"  # an English phrase starts and ends at a word boundary
_E = r"(?![0-9a-z])"


def _start(m: re.Match[str]) -> dt.date:
    """The first day of the year (and month) a match names."""
    year = int(m.group("y"))
    groups = m.groupdict()
    month = MONTHS.get(groups.get("mon") or "") or int(groups.get("m") or 0)
    return dt.date(year, month or 1, 1)


def _has_month(m: re.Match[str]) -> bool:
    groups = m.groupdict()
    return bool(groups.get("mon") or groups.get("m"))


def _after(m: re.Match[str]) -> dt.date:
    start = _start(m)
    return _next_month(start) if _has_month(m) else _year(start.year + 1)


def _since(m: re.Match[str], _today: dt.date) -> dict[str, str]:
    return {"gte": _iso(_start(m))}


def _later(m: re.Match[str], _today: dt.date) -> dict[str, str]:
    return {"gte": _iso(_after(m))}


def _before(m: re.Match[str], _today: dt.date) -> dict[str, str]:
    return {"lt": _iso(_start(m))}


def _within(m: re.Match[str], _today: dt.date) -> dict[str, str]:
    return {"gte": _iso(_start(m)), "lt": _iso(_after(m))}


def _between(m: re.Match[str], _today: dt.date) -> dict[str, str]:
    first, last = int(m.group("y1")), int(m.group("y2"))
    if last < first:
        first, last = last, first
    return {"gte": _iso(_year(first)), "lt": _iso(_year(last + 1))}


def _last_n(m: re.Match[str], today: dt.date) -> dict[str, str]:
    n = _cjk_number(m.group("n"))
    if n is None or n == 0:
        return {}
    unit = m.group("unit").rstrip("s")
    unit = {"か月": "month", "ヶ月": "month", "カ月": "month", "ヵ月": "month", "ケ月": "month",
            "个月": "month", "個月": "month"}.get(unit, unit)  # fmt: skip
    return {"gte": _iso(_back(today, n, unit))}


def _this(unit: str) -> Callable[[re.Match[str], dt.date], dict[str, str]]:
    def this(_m: re.Match[str], today: dt.date) -> dict[str, str]:
        if unit == "year":
            return {"gte": _iso(_year(today.year))}
        return {"gte": _iso(dt.date(today.year, today.month, 1))}

    return this


def _previous(unit: str) -> Callable[[re.Match[str], dt.date], dict[str, str]]:
    def previous(_m: re.Match[str], today: dt.date) -> dict[str, str]:
        if unit == "year":
            return {"gte": _iso(_year(today.year - 1)), "lt": _iso(_year(today.year))}
        first = dt.date(today.year, today.month, 1)
        return {"gte": _iso(months_back(first, 1)), "lt": _iso(first)}

    return previous


_SINCE_CJK = r"(?:以降|から|以来|起|以后|以後|开始|開始|より)"
_UNIT_EN = r"(?P<unit>days?|weeks?|months?|years?)"
_UNIT_CJK = r"(?P<unit>か月|ヶ月|カ月|ヵ月|ケ月|个月|個月|年|日|天|週間|周|週)"

#: (pattern, meaning), longest and most specific first; matched on NFKC-casefolded text
PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str], dt.date], dict[str, str]]]] = [
    (re.compile(p), f)
    for p, f in [
        (_B + r"(?:between|from)\s+" + _Y1 + r"\s*(?:and|to|-|–|until)\s*" + _Y2 + _E, _between),
        (_Y1 + r"年(?:から|~|〜|到|至)" + _Y2 + r"年(?:まで)?", _between),
        (_B + r"(?:since|from|starting(?:\s+in)?)\s+" + _MONTH_EN + _YEAR + _ON + _E, _since),
        (_B + r"(?:after|later\s+than)\s+" + _MONTH_EN + _YEAR + _E, _later),
        (_B + r"(?:before|prior\s+to|earlier\s+than)\s+" + _MONTH_EN + _YEAR + _E, _before),
        (_B + r"(?:in|during|from|of)\s+" + _MONTH_EN + _YEAR + _E, _within),
        (_B + r"(?:in\s+the\s+)?(?:last|past|previous)\s+" + _N + r"\s+" + _UNIT_EN + _E, _last_n),
        (_B + r"this\s+year" + _E, _this("year")),
        (_B + r"this\s+month" + _E, _this("month")),
        (_B + r"last\s+year" + _E, _previous("year")),
        (_B + r"last\s+month" + _E, _previous("month")),
        (_YEAR + r"年" + _MONTH_CJK + r"(?:より後|よりあと|之后|之後)", _later),
        (_YEAR + r"年" + _MONTH_CJK + r"(?:より前|以前|之前)", _before),
        (r"(?:自|从|從)?" + _YEAR + r"年" + _MONTH_CJK + _SINCE_CJK, _since),
        (r"(?:過去|直近|最近|近|过去|過去の)" + _N + _UNIT_CJK, _last_n),
        (r"今年", _this("year")),
        (r"今月|本月|这个月", _this("month")),
        (r"昨年|去年|前年度", _previous("year")),
        (r"先月|上个月|上個月", _previous("month")),
        (_YEAR + r"年" + _MONTH_CJK + r"(?:度)?(?:の|に|的|中)?", _within),
        (_B + _MONTH_EN.removesuffix("?") + _YEAR + _E, _within),  # "march 2024", not "2024"
    ]
]  # fmt: skip


def find_dates(text: str, today: dt.date) -> list[DateMatch]:
    """Every date phrase of ``text`` (already NFKC-casefolded), left to right, none
    overlapping (at a position the first pattern of :data:`PATTERNS` that matches wins)."""
    found: list[DateMatch] = []
    taken = [False] * (len(text) + 1)
    for pattern, meaning in PATTERNS:
        for m in pattern.finditer(text):
            if any(taken[m.start() : m.end()]):
                continue
            span = meaning(m, today)
            if not span:
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            found.append(DateMatch(m.start(), m.end(), m.group(0), span))
    return sorted(found, key=lambda d: d.start)


def merge_ranges(ranges: list[dict[str, str]]) -> dict[str, str]:
    """Several phrases ANDed into one range (the latest start, the earliest end).

    >>> merge_ranges([{"gte": "2024-01-01"}, {"lt": "2025-01-01"}, {"gte": "2024-06-01"}])
    {'gte': '2024-06-01', 'lt': '2025-01-01'}
    """
    out: dict[str, str] = {}
    for r in ranges:
        if "gte" in r:
            out["gte"] = max(out.get("gte", r["gte"]), r["gte"])
        if "lt" in r:
            out["lt"] = min(out.get("lt", r["lt"]), r["lt"])
    return out
